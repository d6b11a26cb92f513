// Phoenix Channels semantics of the edge (docs/protocol.md), frame by frame
// over a raw WebSocket, and the same paths through the official phoenix
// client: duplicate join replaces, leave then phx_close, stale join_refs
// ignored, unmatched topics, heartbeats.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Socket } = require('phoenix');
const WebSocket = require('ws');
const { RawClient } = require('./lib/rawws');
const { startCluster, publish, waitFor, sleep } = require('./lib/cluster');

const texts = (c) => c.frames.filter((f) => f.opcode === 1).map((f) => f.json);
const ok = (jr, ref, topic) => [jr, ref, topic, 'phx_reply', { status: 'ok', response: {} }];
// A join's ok reply names the topic's position; its epoch is checked, then
// replaced by 'E' so replies compare whole.
const joined = (jr, ref, topic, offset = 0) =>
  [jr, ref, topic, 'phx_reply', { status: 'ok', response: { epoch: 'E', offset, oldest: offset + 1 } }];
const noEpoch = (msgs) => msgs.map((m) => {
  const resp = m[3] === 'phx_reply' && m[4].response;
  if (!resp || resp.epoch === undefined) return m;
  assert.match(resp.epoch, /^[0-9a-f]{16}$/);
  return [m[0], m[1], m[2], m[3], { ...m[4], response: { ...resp, epoch: 'E' } }];
});

// Sends msg, then a heartbeat, and returns every frame that arrived before the
// heartbeat's reply: the frames msg caused (none, if it was ignored).
async function exchange(c, msg, hbRef) {
  const from = texts(c).length;
  c.sendText(msg);
  c.sendText([null, hbRef, 'phoenix', 'heartbeat', {}]);
  await c.until((x) => texts(x).some((m) => m[1] === hbRef && m[2] === 'phoenix'), 3000, `heartbeat ${hbRef}`);
  const got = texts(c).slice(from);
  assert.deepEqual(got[got.length - 1], ok(null, hbRef, 'phoenix'));
  return noEpoch(got.slice(0, -1));
}

test('raw frames: join, duplicate join, stale and real leave, unmatched topic', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  const c = await new RawClient(cluster.edgePort).connect();
  t.after(() => { c.destroy(); cluster.stopAndCheck(); });
  await c.until((x) => x.http !== null, 3000, 'handshake');
  assert.match(c.http, /^HTTP\/1\.1 101/);

  assert.deepEqual(await exchange(c, ['1', '1', 'room:1', 'phx_join', {}], 'h1'), [joined('1', '1', 'room:1')]);

  // Duplicate join: the new join's reply first, then phx_close for the old join_ref.
  assert.deepEqual(await exchange(c, ['3', '3', 'room:1', 'phx_join', {}], 'h2'),
    [joined('3', '3', 'room:1'), ['1', '1', 'room:1', 'phx_close', {}]]);

  // One subscription, not two: a broadcast arrives once.
  const r = await publish(cluster, { topic: 'room:1', event: 'evt', data: { n: 1 } });
  await c.until((x) => texts(x).some((m) => m[3] === 'evt'), 3000, 'broadcast');
  await sleep(100);
  assert.deepEqual(texts(c).filter((m) => m[3] === 'evt'), [[null, `@${r.json.offset}`, 'room:1', 'evt', { n: 1 }]]);

  // A leave with the old join_ref is stale: ignored, no reply.
  assert.deepEqual(await exchange(c, ['1', '4', 'room:1', 'phx_leave', {}], 'h3'), []);
  // An event with a stale join_ref on a joined topic: ignored silently.
  assert.deepEqual(await exchange(c, ['1', '5', 'room:1', 'custom', {}], 'h4'), []);
  // Unmatched topic: error reply with a null join_ref.
  assert.deepEqual(await exchange(c, ['9', '6', 'room:nope', 'custom', {}], 'h5'),
    [[null, '6', 'room:nope', 'phx_reply', { status: 'error', response: { reason: 'unmatched topic' } }]]);
  // A leave of a topic that is not joined is still answered ok, with no phx_close.
  assert.deepEqual(await exchange(c, ['7', '7', 'room:zzz', 'phx_leave', {}], 'h6'), [ok('7', '7', 'room:zzz')]);
  // The real leave: ok (same join_ref and ref), then phx_close [jr, jr, ...].
  assert.deepEqual(await exchange(c, ['3', '8', 'room:1', 'phx_leave', {}], 'h7'),
    [ok('3', '8', 'room:1'), ['3', '3', 'room:1', 'phx_close', {}]]);

  // Left: nothing more arrives for room:1; a join of another topic still works.
  const before = texts(c).filter((m) => m[3] === 'evt').length;
  await publish(cluster, { topic: 'room:1', event: 'evt', data: { n: 2 } });
  assert.deepEqual(await exchange(c, ['10', '10', 'room:2', 'phx_join', {}], 'h8'), [joined('10', '10', 'room:2')]);
  await sleep(150);
  assert.equal(texts(c).filter((m) => m[3] === 'evt').length, before);
  assert.equal(c.closeFrame(), undefined);
});

test('the phoenix client: a second channel on a topic replaces the first; events arrive once', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  const socket = new Socket(cluster.socketUrl, { transport: WebSocket, reconnectAfterMs: () => 60000 });
  socket.connect();
  t.after(() => { socket.disconnect(); cluster.stopAndCheck(); });
  const wire = [];
  socket.onMessage((m) => wire.push(m));
  const join = (ch) => new Promise((resolve, reject) => ch.join().receive('ok', resolve).receive('error', reject)
    .receive('timeout', () => reject(new Error('join timeout'))));

  const first = socket.channel('room:dup', {});
  const a = [];
  first.on('evt', (p) => a.push(p.n));
  await join(first);
  const second = socket.channel('room:dup', {}); // the client leaves the open topic first
  const b = [];
  second.on('evt', (p) => b.push(p.n));
  await join(second);

  for (let n = 1; n <= 5; n++) await publish(cluster, { topic: 'room:dup', event: 'evt', data: { n } });
  await waitFor(() => b.length === 5, 3000, '5 events on the second channel');
  await sleep(150);
  assert.deepEqual(b, [1, 2, 3, 4, 5]);
  assert.deepEqual(a, [], 'the replaced channel gets nothing');
  assert.equal(wire.filter((m) => m.event === 'evt').length, 5, 'each event is on the wire once');
  assert.ok(wire.some((m) => m.event === 'phx_close' && m.join_ref === first.joinRef()), 'phx_close for the first join');
});

test('the phoenix subprotocol is answered when the client offers it (authToken set)', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  t.after(() => cluster.stopAndCheck());
  const headers = [];
  class Spy extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      this.on('upgrade', (res) => headers.push(res.headers['sec-websocket-protocol']));
    }
  }
  const socket = new Socket(cluster.socketUrl, { transport: Spy, authToken: 'secret', reconnectAfterMs: () => 60000 });
  socket.connect();
  t.after(() => socket.disconnect());
  const ch = socket.channel('room:sp', {});
  await new Promise((resolve, reject) => ch.join().receive('ok', resolve).receive('error', reject));
  assert.deepEqual(headers, ['phoenix']);
});
