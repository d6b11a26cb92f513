// Clients that read slowly or not at all: large frames never interleave and
// arrive intact and in order; a connection whose queued frames the log laps
// is closed with 4009; one whose queue passes out_queue_max with 4008. In
// each case the close frame starts on a frame boundary after whole frames.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { RawClient } = require('./lib/rawws');
const { startCluster, publish, sleep, metric } = require('./lib/cluster');

const FRAME_DATA = 100 * 1024;

// Data of event n: a string that a reader can check byte for byte.
function body(n) {
  const seed = crypto.createHash('sha256').update(String(n)).digest('hex');
  return seed.repeat(Math.ceil(FRAME_DATA / seed.length)).slice(0, FRAME_DATA);
}

async function pausedSubscriber(cluster, topic) {
  const c = await new RawClient(cluster.edgePort).connect();
  await c.until((x) => x.http !== null, 3000, 'handshake');
  c.sendText(['1', '1', topic, 'phx_join', {}]);
  await c.until((x) => x.frames.some((f) => f.json && f.json[3] === 'phx_reply'), 3000, 'join reply');
  c.sock.pause(); // stop reading: the kernel buffers fill, then the edge's queue
  return c;
}

async function publishMany(cluster, topic, count) {
  const seqs = [];
  for (let n = 0; n < count; n++) {
    const r = await publish(cluster, { topic, event: 'big', data: { n, s: body(n) } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    seqs.push(r.json.offset); // the ref names the offset in the topic
  }
  return seqs;
}

// Every broadcast frame received: whole, in order, a prefix of what was sent.
function checkPrefix(c, seqs) {
  const got = c.frames.filter((f) => f.json && f.json[3] === 'big');
  for (let i = 0; i < got.length; i++) {
    const [jr, ref, , , payload] = got[i].json;
    assert.equal(jr, null);
    assert.equal(ref, `@${seqs[i]}`, `frame ${i} in order`);
    assert.equal(payload.n, i);
    assert.equal(payload.s, body(i), `frame ${i} intact`);
    assert.equal(got[i].fin, true);
  }
  return got.length;
}

test('large frames to a client that reads slowly: all arrive, intact, in order, coalesced', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--log_size', '64M', '--out_queue_max', '64M'] });
  const c = await pausedSubscriber(cluster, 'big:1');
  t.after(() => { c.destroy(); cluster.stopAndCheck(); });
  const seqs = await publishMany(cluster, 'big:1', 60); // about 6 MB, far more than the socket buffers
  await sleep(200);
  // Read in small sips, as a slow mobile client would.
  c.sock.resume();
  await c.until((x) => x.frames.filter((f) => f.json && f.json[3] === 'big').length === 60, 20000, '60 frames');
  assert.equal(checkPrefix(c, seqs), 60);
  assert.equal(c.closeFrame(), undefined);
  assert.ok(await metric(cluster, 'ringcast_edge_coalesced_total') > 0, 'queued frames left in vectored sends');
});

test('a client lapped by the log is closed with 4009 after whole frames', async (t) => {
  // A 1 MiB log and 10 MB published: the positions queued for the paused client are overwritten.
  const cluster = await startCluster({ edges: 1, extra: ['--log_size', '1M', '--out_queue_max', '64M'] });
  const c = await pausedSubscriber(cluster, 'lap:1');
  const other = await new RawClient(cluster.edgePort).connect(); // a reading client on the same edge is unaffected
  t.after(() => { c.destroy(); other.destroy(); cluster.stopAndCheck(); });
  await other.until((x) => x.http !== null, 3000, 'handshake');
  other.sendText(['1', '1', 'lap:1', 'phx_join', {}]);
  await other.until((x) => x.frames.some((f) => f.json && f.json[3] === 'phx_reply'), 3000, 'join reply');
  const seqs = await publishMany(cluster, 'lap:1', 100);
  await other.until((x) => x.frames.filter((f) => f.json && f.json[3] === 'big').length === 100, 20000, 'reader: 100');
  assert.equal(checkPrefix(other, seqs), 100);
  c.sock.resume();
  await c.until((x) => x.closed || x.closeFrame(), 20000, 'close');
  await c.until((x) => x.closed, 5000, 'socket closed');
  const close = c.closeFrame();
  assert.ok(close, 'a close frame arrived');
  assert.equal(close.code, 4009);
  assert.equal(c.frames[c.frames.length - 1], close, 'close is the last frame');
  const n = checkPrefix(c, seqs);
  assert.ok(n < 100, `the lapped client got ${n} of 100 frames before the close`);
  assert.equal(await metric(cluster, 'ringcast_edge_kicks_lapped_total'), 1);
  assert.equal(other.closeFrame(), undefined);
});

test('a client whose queue passes out_queue_max is closed with 4008 after whole frames', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--log_size', '64M', '--out_queue_max', '512K'] });
  const c = await pausedSubscriber(cluster, 'slow:1');
  t.after(() => { c.destroy(); cluster.stopAndCheck(); });
  const seqs = await publishMany(cluster, 'slow:1', 60);
  c.sock.resume();
  await c.until((x) => x.closed, 20000, 'socket closed');
  const close = c.closeFrame();
  assert.ok(close, 'a close frame arrived');
  assert.equal(close.code, 4008);
  assert.equal(c.frames[c.frames.length - 1], close, 'close is the last frame');
  const n = checkPrefix(c, seqs);
  assert.ok(n > 0 && n < 60, `got ${n} of 60 before the close`);
  assert.equal(await metric(cluster, 'ringcast_edge_kicks_slow_total'), 1);
});
