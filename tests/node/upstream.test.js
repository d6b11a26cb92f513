// The broker drains the edges' upstream rings into the log (issue 7): a
// client broadcast an edge queues reaches every subscriber like a pushed
// event, in order; malformed messages are refused and counted without
// losing the good ones; a full ring pushes back on its edge, nothing is lost.
// tests/tools/upstream_push plays the edge's producer side (the edge itself
// produces upstream messages from the hydration issue on).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const { Socket } = require('phoenix');
const WebSocket = require('ws');
const { startCluster, publish, waitFor, metric } = require('./lib/cluster');

const BIN = process.env.RINGCAST_BIN || path.join(__dirname, '..', '..', 'build', 'bin');

function pushUpstream(cluster, args) {
  const r = spawnSync(path.join(BIN, 'upstream_push'), ['--instance', cluster.instance, ...args],
    { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, `upstream_push: ${r.stdout}${r.stderr}`);
  return r.stdout.trim();
}

async function subscriber(cluster, topic) {
  const socket = new Socket(cluster.socketUrl, { transport: WebSocket, reconnectAfterMs: () => 60000 });
  socket.connect();
  const ch = socket.channel(topic, {});
  const got = [];
  ch.on('up', (p, ref) => got.push({ n: p.n, ref }));
  ch.on('pushed', (p, ref) => got.push({ pushed: p.n, ref }));
  await new Promise((resolve, reject) => ch.join().receive('ok', resolve).receive('error', reject));
  return { socket, got };
}

test('client broadcasts from an upstream ring reach subscribers in order; bad ones are refused', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  const { socket, got } = await subscriber(cluster, 'room:up');
  t.after(() => { socket.disconnect(); cluster.stopAndCheck(); });

  const before = await publish(cluster, { topic: 'room:up', event: 'pushed', data: { n: 0 } });
  assert.match(pushUpstream(cluster, ['--topic', 'room:up', '--count', '500', '--burst', '50', '--bad', '6']),
    /^pushed 500 bad 6 /);
  const after = await publish(cluster, { topic: 'room:up', event: 'pushed', data: { n: 1 } });

  await waitFor(() => got.length === 502, 10000, '502 events');
  assert.deepEqual(got[0], { pushed: 0, ref: `@${before.json.offset}` });
  assert.deepEqual(got.slice(1, 501).map((g) => g.n), Array.from({ length: 500 }, (_, i) => i + 1));
  // The topic's offsets continue without a gap: the upstream records took 500 of them.
  assert.deepEqual(got.slice(1).map((g) => g.ref),
    Array.from({ length: 501 }, (_, i) => `@${before.json.offset + 1 + i}`));
  assert.equal(after.json.seq, before.json.seq + 501);
  assert.equal(after.json.offset, before.json.offset + 501);
  assert.equal(await metric(cluster, 'ringcast_upstream_published_total'), 500);
  assert.equal(await metric(cluster, 'ringcast_upstream_rejected_total'), 6);
  assert.equal(await metric(cluster, 'ringcast_publish_total'), 2, 'the producer API wrote 2 records; upstream ones are counted apart');
  const log = fs.readFileSync(path.join(cluster.runDir, 'broker.log'), 'utf8');
  assert.match(log, /upstream message refused/);
});

test('a full upstream ring pushes back on its producer and loses nothing', async (t) => {
  // 64 KiB rings hold about 1,600 of these messages; 20,000 with one doorbell
  // per 5,000 fill the ring again and again.
  const cluster = await startCluster({ edges: 1, extra: ['--upring_size', '64K'] });
  const { socket, got } = await subscriber(cluster, 'room:full');
  t.after(() => { socket.disconnect(); cluster.stopAndCheck(); });
  const out = pushUpstream(cluster, ['--topic', 'room:full', '--count', '20000', '--burst', '5000']);
  const full = Number(/full (\d+)/.exec(out)[1]);
  assert.ok(full > 0, `the ring was full at times (${out})`);
  await waitFor(() => got.length === 20000, 20000, '20000 events');
  for (let i = 0; i < got.length; i++) assert.equal(got[i].n, i + 1);
  assert.equal(await metric(cluster, 'ringcast_upstream_published_total'), 20000);
});

test('an upstream ring with an impossible length is discarded, counted and logged; the broker goes on', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  const { socket, got } = await subscriber(cluster, 'room:corrupt');
  t.after(() => { socket.disconnect(); cluster.stopAndCheck(); });
  // A message header claiming 2 GiB in a 64 KiB ring: before the check the
  // broker read past the ring (ASan) and moved head past tail for good.
  assert.match(pushUpstream(cluster, ['--topic', 'room:corrupt', '--count', '100', '--corrupt', '1']), /^pushed 100 /);
  await waitFor(() => got.length === 100, 10000, '100 events after the corrupt ring');
  assert.deepEqual(got.map((g) => g.n), Array.from({ length: 100 }, (_, i) => i + 1));
  assert.equal(await metric(cluster, 'ringcast_upstream_rejected_total'), 1);
  assert.equal((await publish(cluster, { topic: 'room:corrupt', event: 'pushed', data: { n: 1 } })).status, 200);
  const log = fs.readFileSync(path.join(cluster.runDir, 'broker.log'), 'utf8');
  assert.match(log, /upstream ring holds impossible positions or lengths: discarded/);
});
