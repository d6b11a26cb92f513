// The walking skeleton end to end: HTTP POST -> broker -> shm log -> 2 edges
// -> the official phoenix client (1.8.16, ws transport).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { Socket } = require('phoenix');
const WebSocket = require('ws');
const { startCluster, publish, health, waitFor, sleep } = require('./lib/cluster');

const TOPICS = ['room:a', 'room:b', 'room:c'];

function connect(cluster, opts = {}) {
  const socket = new Socket(cluster.socketUrl, { transport: WebSocket, reconnectAfterMs: () => 60000, ...opts });
  socket.connect();
  return socket;
}

function join(channel) {
  return new Promise((resolve, reject) => {
    channel.join().receive('ok', resolve).receive('error', (e) => reject(new Error(`join refused: ${JSON.stringify(e)}`)))
      .receive('timeout', () => reject(new Error('join timed out')));
  });
}

test('each client receives exactly its topics\' events, in order, with @offset refs', async (t) => {
  const cluster = await startCluster({ edges: 2 });
  const sockets = [];
  t.after(() => { for (const s of sockets) s.disconnect(); cluster.stopAndCheck(); });

  // 24 clients: client i joins TOPICS[i % 3]; every fourth also joins room:all.
  const clients = [];
  for (let i = 0; i < 24; i++) {
    const socket = connect(cluster);
    sockets.push(socket);
    const topics = [TOPICS[i % 3], ...(i % 4 === 0 ? ['room:all'] : [])];
    const got = [];
    const closes = [];
    socket.onClose((e) => closes.push(e.code));
    for (const topic of topics) {
      const ch = socket.channel(topic, {});
      ch.on('evt', (payload, ref) => got.push({ topic, n: payload.n, ref }));
      ch.on('other', (payload, ref) => got.push({ topic, n: payload.n, ref, event: 'other' }));
      await join(ch);
    }
    clients.push({ topics, got, closes });
  }

  // Both edges hold clients (SO_REUSEPORT spread 24 connections).
  const h = await health(cluster);
  assert.equal(h.status, 'ok');
  assert.equal(h.edges.length, 2, JSON.stringify(h));
  assert.equal(h.edges.reduce((a, e) => a + e.connections, 0), 24);
  for (const e of h.edges) assert.ok(e.connections > 0, `edge ${e.slot} has no clients: ${JSON.stringify(h)}`);

  // 40 events over five topics (one with no subscriber), two event names.
  const order = ['room:a', 'room:b', 'room:all', 'room:c', 'room:nobody'];
  const sent = [];
  for (let n = 0; n < 40; n++) {
    const topic = order[n % order.length];
    const event = n % 7 === 0 ? 'other' : 'evt';
    const r = await publish(cluster, { topic, event, data: { n } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(typeof r.json.seq, 'number');
    if (sent.length) assert.ok(r.json.seq > sent[sent.length - 1].seq, 'seq increases');
    // offsets count per topic: this is the topic's k-th event
    assert.equal(r.json.offset, sent.filter((s) => s.topic === topic).length + 1);
    sent.push({ topic, n, seq: r.json.seq, offset: r.json.offset, event });
  }

  for (const c of clients) {
    const want = sent.filter((s) => c.topics.includes(s.topic))
      .map((s) => ({ topic: s.topic, n: s.n, ref: `@${s.offset}`, ...(s.event === 'other' ? { event: 'other' } : {}) }));
    await waitFor(() => c.got.length >= want.length, 5000, `${want.length} events on ${c.topics}`);
    await sleep(50);
    assert.deepEqual(c.got, want, `client on ${c.topics}`);
    assert.deepEqual(c.closes, []);
  }
  await sleep(200); // nothing extra arrives late
  for (const c of clients) {
    const want = sent.filter((s) => c.topics.includes(s.topic)).length;
    assert.equal(c.got.length, want, `no extra events for ${c.topics}`);
  }
});

test('heartbeats are answered and keep the connection open', async (t) => {
  const cluster = await startCluster({ edges: 2 });
  const socket = connect(cluster, { heartbeatIntervalMs: 150 });
  t.after(() => { socket.disconnect(); cluster.stopAndCheck(); });
  const replies = [];
  const closes = [];
  socket.onClose((e) => closes.push(e.code));
  socket.onMessage((m) => {
    if (m.topic === 'phoenix' && m.event === 'phx_reply') replies.push(m);
  });
  await waitFor(() => replies.length >= 4, 5000, '4 heartbeat replies');
  for (const m of replies) {
    assert.equal(m.join_ref, null);
    assert.equal(m.payload.status, 'ok');
    assert.match(m.ref, /^\d+$/);
  }
  assert.deepEqual(closes, []);
});

test('leave is answered and stops delivery; rejoin resumes it', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  const socket = connect(cluster);
  t.after(() => { socket.disconnect(); cluster.stopAndCheck(); });
  const frames = [];
  socket.onMessage((m) => frames.push(m));
  let ch = socket.channel('room:x', {});
  const got = [];
  ch.on('evt', (p) => got.push(p.n));
  await join(ch);
  await publish(cluster, { topic: 'room:x', event: 'evt', data: { n: 1 } });
  await waitFor(() => got.length === 1, 3000, 'first event');
  const jr = ch.joinRef();
  await new Promise((resolve) => ch.leave().receive('ok', resolve));
  await waitFor(() => frames.some((m) => m.event === 'phx_close' && m.join_ref === jr), 3000, 'phx_close after leave');
  const leaveReply = frames.find((m) => m.event === 'phx_reply' && m.join_ref === jr && m.ref !== jr);
  assert.equal(leaveReply.payload.status, 'ok');
  await publish(cluster, { topic: 'room:x', event: 'evt', data: { n: 2 } });
  await sleep(200);
  assert.deepEqual(got, [1]);
  ch = socket.channel('room:x', {});
  ch.on('evt', (p) => got.push(p.n));
  await join(ch);
  await publish(cluster, { topic: 'room:x', event: 'evt', data: { n: 3 } });
  await waitFor(() => got.length === 2, 3000, 'event after rejoin');
  assert.deepEqual(got, [1, 3]);
});

function rawHttp(port, text) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(text));
    let out = '';
    s.on('data', (d) => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(3000, () => { s.destroy(); reject(new Error('raw request timed out')); });
  });
}

test('bad input gets a clear error and crashes nothing', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  t.after(() => cluster.stopAndCheck());
  const cases = [
    ['{"topic": "a", ', /invalid JSON/],
    ['[1,2,3]', /JSON object/],
    [{ event: 'e', data: {} }, /topic/],
    [{ topic: 'a', data: {} }, /event/],
    [{ topic: 'a', event: 'e' }, /data/],
    [{ topic: '', event: 'e', data: 1 }, /topic/],
    [{ topic: 'x'.repeat(256), event: 'e', data: 1 }, /255/],
    [{ topic: ['a', 5], event: 'e', data: 1 }, /topic/],
  ];
  for (const [body, re] of cases) {
    const r = await publish(cluster, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(r.json.error, re);
  }
  // A non-WebSocket request to the edge: 400 with a reason.
  const plain = await rawHttp(cluster.edgePort, 'GET /socket/websocket HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.match(plain, /^HTTP\/1\.1 400 /);
  const garbage = await rawHttp(cluster.edgePort, '\x16\x03\x01\x02\x00garbage\r\n\r\n');
  assert.match(garbage, /^HTTP\/1\.1 400 /);
  // A WebSocket handshake without vsn 2: refused as Phoenix does (403).
  const v1 = await rawHttp(cluster.edgePort, 'GET /socket/websocket?vsn=1.0.0 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n' +
    'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  assert.match(v1, /^HTTP\/1\.1 403 /);
  // Still serving: a publish works and both processes answer.
  const ok = await publish(cluster, { channel: 'a', event: 'e', data: null });
  assert.equal(ok.status, 200);
  const multi = await publish(cluster, { topic: ['a', 'b', 'a'], event: 'e', data: [1] });
  assert.equal(multi.status, 200);
  assert.equal(multi.json.seqs.length, 2);
  const h = await health(cluster);
  assert.equal(h.edges.length, 1);
});
