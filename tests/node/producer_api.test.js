// The producer API (issue 7): every form of POST /api/push and
// /api/push/batch (JSON and msgpack), every limit and error, all-or-nothing
// batches, bearer API keys, and GET /metrics. Real clusters on free ports.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Socket } = require('phoenix');
const WebSocket = require('ws');
const { startCluster, health, waitFor } = require('./lib/cluster');
const { encode, Raw } = require('./lib/msgpack');

async function post(cluster, path, body, { msgpack = false, key, headers = {} } = {}) {
  const h = { 'content-type': msgpack ? 'application/msgpack' : 'application/json', ...headers };
  if (key !== undefined) h.authorization = `Bearer ${key}`;
  const data = msgpack ? encode(body) : (typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
  const res = await fetch(`${cluster.brokerUrl}${path}`, { method: 'POST', headers: h, body: data });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

const seqNow = async (cluster) => (await health(cluster)).seq;

// A push reply with each position's epoch checked (16 hex digits, one per
// topic) and dropped: {seq, offset} or {seqs, offsets} (same shape).
const epochs = new Map();
function positions(json, topics) {
  const offsetOf = (p, topic) => {
    assert.match(p.epoch, /^[0-9a-f]{16}$/);
    if (topic !== undefined) {
      if (!epochs.has(topic)) epochs.set(topic, p.epoch);
      assert.equal(p.epoch, epochs.get(topic), `one epoch for ${topic}`);
    }
    return p.offset;
  };
  if ('seq' in json) return { seq: json.seq, offset: offsetOf(json, topics && topics[0]) };
  let k = 0;
  const walk = (v) => (Array.isArray(v) ? v.map(walk) : offsetOf(v, topics && topics[k++]));
  return { seqs: json.seqs, offsets: walk(json.positions) };
}

// Asserts a refusal: status, error matching re, optional index, and nothing written.
async function refused(cluster, path, body, status, re, { index, ...opts } = {}) {
  const before = await seqNow(cluster);
  const r = await post(cluster, path, body, opts);
  const what = `${path} ${Buffer.isBuffer(body) ? body.toString('hex') : JSON.stringify(body).slice(0, 200)}`;
  assert.equal(r.status, status, `${what} -> ${r.status} ${r.text}`);
  assert.ok(r.json && typeof r.json.error === 'string', `error JSON for ${what}: ${r.text}`);
  assert.match(r.json.error, re, what);
  if (index === undefined) assert.equal(r.json.index, undefined, what);
  else assert.equal(r.json.index, index, what);
  assert.equal(await seqNow(cluster), before, `nothing written for ${what}`);
  return r;
}

function join(socket, topic, got) {
  const ch = socket.channel(topic, {});
  ch.on('e', (payload, ref) => got.push({ topic, payload, ref }));
  return new Promise((resolve, reject) => {
    ch.join().receive('ok', resolve).receive('error', reject).receive('timeout', () => reject(new Error('join timeout')));
  });
}

test('single pushes: topic, channel, arrays, replies after the log has them', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  const socket = new Socket(cluster.socketUrl, { transport: WebSocket, reconnectAfterMs: () => 60000 });
  t.after(() => { socket.disconnect(); cluster.stopAndCheck(); });
  socket.connect();
  const got = [];
  await join(socket, 'room:a', got);
  await join(socket, 'room:b', got);

  // Each reply has the log's seq and the event's position in its topic.
  let r = await post(cluster, '/api/push', { topic: 'room:a', event: 'e', data: { n: 1 } });
  assert.deepEqual([r.status, positions(r.json, ['room:a'])], [200, { seq: 1, offset: 1 }]);
  r = await post(cluster, '/api/push', { channel: 'room:b', event: 'e', data: null });
  assert.deepEqual([r.status, positions(r.json, ['room:b'])], [200, { seq: 2, offset: 1 }]);
  // An array: one record per distinct topic, in first-seen order.
  r = await post(cluster, '/api/push', { topic: ['room:a', 'room:b', 'room:a'], event: 'e', data: [1, 'two'] });
  assert.deepEqual([r.status, positions(r.json, ['room:a', 'room:b'])], [200, { seqs: [3, 4], offsets: [2, 2] }]);
  // Pre-encoded JSON data.
  r = await post(cluster, '/api/push', { topic: 'room:a', event: 'e', data: '{"pre": [1, 2]}', data_json: true });
  assert.deepEqual([r.status, positions(r.json, ['room:a'])], [200, { seq: 5, offset: 3 }]);
  assert.equal(await seqNow(cluster), 5);
  assert.notEqual(epochs.get('room:a'), epochs.get('room:b'), 'each topic has its own epoch');

  // A broadcast's ref is its offset in the topic.
  await waitFor(() => got.length === 5, 3000, '5 broadcasts');
  assert.deepEqual(got.map((g) => [g.topic, g.ref, g.payload]), [
    ['room:a', '@1', { n: 1 }], ['room:b', '@1', null], ['room:a', '@2', [1, 'two']], ['room:b', '@2', [1, 'two']],
    ['room:a', '@3', { pre: [1, 2] }],
  ]);
});

test('batches (JSON and msgpack): seqs in order, delivered in order', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  const socket = new Socket(cluster.socketUrl, { transport: WebSocket, reconnectAfterMs: () => 60000 });
  t.after(() => { socket.disconnect(); cluster.stopAndCheck(); });
  socket.connect();
  const got = [];
  await join(socket, 'b:1', got);
  await join(socket, 'b:2', got);

  const events = [];
  for (let i = 0; i < 100; i++) events.push({ topic: `b:${1 + (i % 2)}`, event: 'e', data: { i } });
  let r = await post(cluster, '/api/push/batch', events);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(positions(r.json, events.map((e) => e.topic)), {
    seqs: Array.from({ length: 100 }, (_, i) => i + 1),
    offsets: Array.from({ length: 100 }, (_, i) => 1 + (i >> 1)),
  });
  // An event with a topic array gets an array of seqs and of positions.
  r = await post(cluster, '/api/push/batch', [{ topic: 'b:1', event: 'e', data: 'x' },
    { channel: ['b:1', 'b:2'], event: 'e', data: 'y' }]);
  assert.deepEqual(positions(r.json, ['b:1', 'b:1', 'b:2']), { seqs: [101, [102, 103]], offsets: [51, [52, 51]] });

  // msgpack: a value converted to JSON once, and pre-encoded JSON.
  const mp = [
    { topic: 'b:1', event: 'e', data: { s: 'héllo', n: -5, big: 4000000000, f: 1.5, t: true, z: null, a: [1, [2]] } },
    { channel: 'b:2', event: 'e', data: '{"raw":true}', data_json: true },
    { topic: ['b:1', 'b:2'], event: 'e', data: 7 },
  ];
  r = await post(cluster, '/api/push/batch', mp, { msgpack: true });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(positions(r.json, ['b:1', 'b:2', 'b:1', 'b:2']), { seqs: [104, 105, [106, 107]], offsets: [53, 52, [54, 53]] });
  // msgpack to /api/push: one event.
  r = await post(cluster, '/api/push', { topic: 'b:2', event: 'e', data: { one: 1 } }, { msgpack: true });
  assert.deepEqual(positions(r.json, ['b:2']), { seq: 108, offset: 54 });

  await waitFor(() => got.length === 108, 5000, '108 broadcasts');
  assert.deepEqual(got.slice(0, 100).map((g) => g.payload.i), Array.from({ length: 100 }, (_, i) => i));
  // Each topic's refs count 1, 2, 3... in the order its events were written.
  for (const topic of ['b:1', 'b:2']) {
    const refs = got.filter((g) => g.topic === topic).map((g) => g.ref);
    assert.deepEqual(refs, Array.from({ length: 54 }, (_, i) => `@${i + 1}`), topic);
  }
  assert.deepEqual(got[103].payload, mp[0].data);
  assert.deepEqual(got[104].payload, { raw: true });
  assert.deepEqual([got[105].payload, got[106].payload, got[107].payload], [7, 7, { one: 1 }]);
});

test('a batch with one bad event writes nothing and names its index', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  t.after(() => cluster.stopAndCheck());
  await post(cluster, '/api/push', { topic: 'x', event: 'e', data: 0 });
  const good = () => Array.from({ length: 100 }, (_, i) => ({ topic: `t:${i % 7}`, event: 'e', data: { i } }));
  const cases = [
    [(e) => { delete e.event; }, 400, /event/],
    [(e) => { e.topic = ''; }, 400, /topic/],
    [(e) => { e.topic = 't'.repeat(256); }, 400, /topic longer than 255/],
    [(e) => { e.event = 'e'.repeat(256); }, 400, /event longer than 255/],
    [(e) => { delete e.data; }, 400, /data is required/],
    [(e) => { e.topic = ['a', 5]; }, 400, /topic/],
    [(e) => { e.data = '{"a":'; e.data_json = true; }, 422, /data_json: data is not valid JSON/],
    [(e) => { e.data = JSON.parse('['.repeat(33) + ']'.repeat(33)); }, 422, /data nested (deeper than 32 levels|too deep)/],
  ];
  for (const [spoil, status, re] of cases) {
    const events = good();
    spoil(events[56]);
    await refused(cluster, '/api/push/batch', events, status, re, { index: 56 });
    await refused(cluster, '/api/push/batch', events, status, re, { index: 56, msgpack: true });
  }
  // Invalid UTF-8 in a field, named (raw bytes: JSON.stringify cannot make them).
  const bad = Buffer.concat([Buffer.from(JSON.stringify(good().slice(0, 56)).slice(0, -1) + ','),
    Buffer.from('{"topic":"t","event":"e","data":{"k":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}]')]);
  await refused(cluster, '/api/push/batch', bad, 422, /invalid UTF-8 in data/, { index: 56 });
  const badTopic = Buffer.concat([Buffer.from('[{"topic":"t","event":"e","data":1},{"topic":"'), Buffer.from([0xff]),
    Buffer.from('","event":"e","data":1}]')]);
  await refused(cluster, '/api/push/batch', badTopic, 422, /invalid UTF-8 in topic/, { index: 1 });
  const mpEvents = good();
  mpEvents[56].event = new Raw([0xa2, 0xc3, 0x28]);
  await refused(cluster, '/api/push/batch', mpEvents, 422, /invalid UTF-8 in event/, { index: 56, msgpack: true });
  const mpData = good();
  mpData[56].data = { k: new Raw([0xa1, 0xff]) };
  await refused(cluster, '/api/push/batch', mpData, 422, /invalid UTF-8 in data/, { index: 56, msgpack: true });
  const mpBin = good();
  mpBin[56].data = Buffer.from([1, 2, 3]);
  await refused(cluster, '/api/push/batch', mpBin, 422, /binary/, { index: 56, msgpack: true });
  const mpNaN = good();
  mpNaN[56].data = NaN;
  await refused(cluster, '/api/push/batch', mpNaN, 422, /NaN/, { index: 56, msgpack: true });
  assert.equal(await seqNow(cluster), 1);
});

test('limits and malformed bodies get clear errors', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--max_body', '64K', '--max_data', '1K', '--max_batch', '10'] });
  t.after(() => cluster.stopAndCheck());
  const P = '/api/push', B = '/api/push/batch';
  await refused(cluster, P, '{"topic": "a", ', 400, /invalid JSON/);
  await refused(cluster, P, '[1,2,3]', 400, /JSON object/);
  await refused(cluster, B, '{"topic":"a","event":"e","data":1}', 400, /JSON array/);
  await refused(cluster, B, '[]', 400, /at least one/);
  await refused(cluster, B, '[1]', 400, /JSON object/, { index: 0 });
  await refused(cluster, P, { topic: 'a', event: 'e', data: 'x'.repeat(70000) }, 413, /max_body/);
  await refused(cluster, P, { topic: 'a', event: 'e', data: 'x'.repeat(2000) }, 413, /max_data \(1024\)/);
  await refused(cluster, P, { topic: 'a', event: 'e', data: 'x'.repeat(2000) }, 413, /max_data/, { msgpack: true });
  await refused(cluster, P, { topic: 'a', event: 'e', data: JSON.stringify('x'.repeat(2000)), data_json: true }, 413, /max_data/);
  const eleven = Array.from({ length: 11 }, () => ({ topic: 'a', event: 'e', data: 1 }));
  await refused(cluster, B, eleven, 413, /max_batch \(10\)/);
  await refused(cluster, B, eleven, 413, /max_batch \(10\)/, { msgpack: true });
  await refused(cluster, P, { topic: Array.from({ length: 101 }, (_, i) => `t${i}`), event: 'e', data: 1 }, 400, /1\.\.100 topics/);
  await refused(cluster, P, { topic: 'a', event: 'e', data: 1, data_json: 'yes' }, 400, /data_json/);
  await refused(cluster, P, { topic: 'a', event: 'e', data: 1, data_json: true }, 400, /string of JSON/);
  await refused(cluster, P, { topic: 'a', event: 'e'.repeat(256), data: 1 }, 400, /event longer than 255/);
  await refused(cluster, P, '{"topic":"a","event":"e","data":' + '{"a":'.repeat(33) + '1' + '}'.repeat(33) + '}', 422, /data nested deeper than 32/);
  await refused(cluster, P, Buffer.concat([Buffer.from('{"topic":"a","event":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('","data":1}')]), 422, /invalid UTF-8 in event/);
  await refused(cluster, P, Buffer.concat([Buffer.from('{"topic":"a","event":"e","data":1,"'), Buffer.from([0xff]), Buffer.from('":2}')]), 422, /invalid UTF-8 in a field name/);
  // msgpack: truncated, a count the body cannot hold, trailing bytes, not a map.
  const mp = (bytes) => new Raw(bytes);
  await refused(cluster, P, mp([0x83, 0xa5]), 400, /invalid msgpack/, { msgpack: true });
  await refused(cluster, B, mp([0xdd, 0xff, 0xff, 0xff, 0xff]), 400, /invalid msgpack/, { msgpack: true });
  await refused(cluster, P, mp([0xc0, 0xc0]), 400, /after the value/, { msgpack: true });
  await refused(cluster, P, mp([0x92, 1, 2]), 400, /msgpack map/, { msgpack: true });
  // Method and path.
  const get = await fetch(`${cluster.brokerUrl}/api/push`);
  assert.equal(get.status, 405);
  assert.match((await get.json()).error, /POST/);
  const nf = await fetch(`${cluster.brokerUrl}/nope`);
  assert.equal(nf.status, 404);
  assert.match((await nf.json()).error, /no such endpoint/);
  // Still serving.
  const ok = await post(cluster, P, { topic: 'a', event: 'e', data: 'x'.repeat(900) });
  assert.equal(ok.status, 200, ok.text);
});

test('bearer API keys: off by default, two keys for rotation, 401 and 403', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--api_keys', 'old-key-1,new-key-2'] });
  t.after(() => cluster.stopAndCheck());
  const ev = { topic: 'a', event: 'e', data: 1 };
  const r401 = await refused(cluster, '/api/push', ev, 401, /missing API key/);
  await refused(cluster, '/api/push/batch', [ev], 401, /missing API key/);
  await refused(cluster, '/api/push', ev, 401, /missing API key/, { headers: { authorization: 'Basic b2xkLWtleS0xOg==' } });
  await refused(cluster, '/api/push', ev, 403, /not accepted/, { key: 'wrong' });
  await refused(cluster, '/api/push', ev, 403, /not accepted/, { key: 'old-key-' });
  await refused(cluster, '/api/push', ev, 403, /not accepted/, { key: 'old-key-1x' });
  assert.ok(r401);
  assert.deepEqual(positions((await post(cluster, '/api/push', ev, { key: 'old-key-1' })).json), { seq: 1, offset: 1 });
  assert.deepEqual(positions((await post(cluster, '/api/push', ev, { key: 'new-key-2' })).json), { seq: 2, offset: 2 });
  assert.deepEqual(positions((await post(cluster, '/api/push/batch', [ev], { key: 'new-key-2' })).json), { seqs: [3], offsets: [3] });
  // Health and metrics stay open (the API listens on loopback by default).
  assert.equal((await fetch(`${cluster.brokerUrl}/healthz`)).status, 200);
  // Keys never reach the logs.
  const fs = require('node:fs');
  const log = fs.readFileSync(`${cluster.runDir}/broker.log`, 'utf8');
  assert.ok(!log.includes('old-key-1') && !log.includes('new-key-2'), 'a key was logged');
});

test('GET /metrics: publish counters, latency histogram, log, per-edge series', async (t) => {
  const cluster = await startCluster({ edges: 2 });
  const socket = new Socket(cluster.socketUrl, { transport: WebSocket, reconnectAfterMs: () => 60000 });
  t.after(() => { socket.disconnect(); cluster.stopAndCheck(); });
  socket.connect();
  const got = [];
  await join(socket, 'm', got);
  for (let i = 0; i < 5; i++) await post(cluster, '/api/push', { topic: 'm', event: 'e', data: i });
  await post(cluster, '/api/push/batch', [{ topic: 'm', event: 'e', data: 5 }, { topic: ['m', 'n'], event: 'e', data: 6 }]);
  await post(cluster, '/api/push', '{');
  await post(cluster, '/api/push', { topic: 'a', event: 'e', data: '{', data_json: true });
  await waitFor(() => got.length === 7, 3000, '7 broadcasts');
  const res = await fetch(`${cluster.brokerUrl}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain/);
  const text = await res.text();
  const value = (series) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    assert.ok(line, `${series} missing:\n${text}`);
    return Number(line.slice(series.length + 1));
  };
  assert.equal(value('ringcast_publish_total'), 8);
  assert.equal(value('ringcast_publish_requests_total'), 6);
  assert.equal(value('ringcast_publish_rejected_total{reason="malformed"}'), 1);
  assert.equal(value('ringcast_publish_rejected_total{reason="invalid"}'), 1);
  assert.equal(value('ringcast_publish_rejected_total{reason="unauthorized"}'), 0);
  assert.equal(value('ringcast_publish_latency_seconds_count'), 6);
  assert.equal(value('ringcast_publish_latency_seconds_bucket{le="+Inf"}'), 6);
  assert.ok(value('ringcast_publish_latency_seconds_sum') > 0);
  assert.match(text, /# TYPE ringcast_publish_latency_seconds histogram/);
  assert.equal(value('ringcast_log_seq'), 8);
  const fill = value('ringcast_log_fill_ratio');
  assert.ok(fill > 0 && fill < 0.01, `fill ${fill}`);
  assert.ok(value('ringcast_log_wake_syscalls_total') >= 0);
  assert.equal(value('ringcast_dead_edge_slots'), 0);
  const edges = (await health(cluster)).edges;
  assert.equal(edges.length, 2);
  let conns = 0, joins = 0, frames = 0;
  for (const e of edges) {
    const l = `{edge="${e.slot}"}`;
    conns += value(`ringcast_edge_connections${l}`);
    joins += value(`ringcast_edge_joins_total${l}`);
    frames += value(`ringcast_edge_frames_out_total${l}`);
    for (const n of ['bytes_out', 'sends', 'coalesced', 'drops', 'kicks_slow', 'kicks_lapped', 'heartbeats']) value(`ringcast_edge_${n}_total${l}`);
    assert.equal(value(`ringcast_edge_lag${l}`), 0);
  }
  assert.deepEqual([conns, joins], [1, 1]);
  assert.ok(frames >= 7, `frames_out ${frames}`);
});
