// The region has one writer and is ours: a second broker on a live
// instance exits at once and changes nothing, and a region someone else
// planted in /dev/shm is refused by name. Throughout, the live cluster keeps
// publishing and delivering, with no gap in its sequence.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const { startCluster, publish, freePort, waitFor, sleep } = require('./lib/cluster');
const { RawClient } = require('./lib/rawws');

const BIN = process.env.RINGCAST_BIN || path.join(__dirname, '..', '..', 'build', 'bin');

// A subscriber on the live cluster that records every seq it gets, and a
// publisher every 50 ms: the cluster must deliver all of it, in order.
async function liveTraffic(cluster) {
  const c = await new RawClient(cluster.edgePort).connect();
  await c.until((x) => x.http !== null, 3000, 'handshake');
  c.sendText(['1', '1', 'room:live', 'phx_join', {}]);
  await c.until((x) => x.frames.some((f) => f.json && f.json[3] === 'phx_reply'), 3000, 'join');
  let running = true, n = 0;
  const seqs = [];
  const loop = (async () => {
    while (running) {
      const r = await publish(cluster, { topic: 'room:live', event: 'e', data: { n: ++n } });
      assert.equal(r.status, 200);
      seqs.push(r.json.seq);
      await sleep(50);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await c.until((x) => x.frames.filter((f) => f.json && f.json[3] === 'e').length >= n, 3000, 'every event');
      const got = c.frames.filter((f) => f.json && f.json[3] === 'e').map((f) => f.json[4].n);
      assert.deepEqual(got, Array.from({ length: n }, (_, i) => i + 1), 'the subscriber got every event in order');
      for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, 'the sequence has no gap');
      assert.equal(c.closed, false);
      c.destroy();
      return n;
    },
  };
}

function broker(instance, extra = []) {
  return spawnSync(path.join(BIN, 'broker'), ['--instance', instance, '--broker_host', '127.0.0.1', ...extra],
    { encoding: 'utf8', timeout: 10000 });
}

test('a second broker on a live instance exits at once, names the cause, and changes nothing', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  t.after(() => cluster.stopAndCheck());
  const traffic = await liveTraffic(cluster);
  await sleep(300);
  const region = `/dev/shm/ringcast-${cluster.instance}`;
  const before = fs.statSync(region);
  for (const extra of [[], ['--recreate_log', '1'], ['--recreate_log', '1', '--log_size', '32M']]) {
    const t0 = Date.now();
    const r = broker(cluster.instance, ['--broker_port', String(await freePort()), ...extra]);
    assert.equal(r.status, 1, `second broker ${extra.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /being written by another broker/);
    assert.ok(Date.now() - t0 < 5000, 'it exits at once');
  }
  const after = fs.statSync(region);
  assert.equal(after.ino, before.ino, 'the region was not replaced');
  await sleep(300);
  const n = await traffic.stop();
  assert.ok(n >= 10, `too few events published (${n})`);
});

test('a region planted by someone else is refused with its path; the live cluster is untouched', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  const planted = `rcplant${process.pid}`;
  const file = `/dev/shm/ringcast-${planted}`;
  t.after(() => { fs.rmSync(file, { force: true }); cluster.stopAndCheck(); });
  const traffic = await liveTraffic(cluster);
  // A copy of a valid region, as another local user would leave it: readable
  // by all (0644), and, when the test runs as root, owned by nobody.
  fs.copyFileSync(`/dev/shm/ringcast-${cluster.instance}`, file);
  fs.chmodSync(file, 0o644);
  if (process.getuid() === 0) fs.chownSync(file, 65534, 65534);
  const r = broker(planted, ['--broker_port', String(await freePort())]);
  assert.equal(r.status, 1, `${r.stdout}${r.stderr}`);
  assert.match(r.stderr, new RegExp(`${file} is not ours`));
  assert.match(r.stderr, /rm \/dev\/shm\/ringcast-/);
  assert.ok(fs.existsSync(file), 'refused, not removed');
  // An edge refuses it as well.
  const e = spawnSync(path.join(BIN, 'edge'), ['--instance', planted, '--edge_host', '127.0.0.1', '--edge_port', String(await freePort())],
    { encoding: 'utf8', timeout: 10000 });
  assert.notEqual(e.status, 0, `${e.stdout}${e.stderr}`);
  assert.match(e.stderr, /is not ours/);
  await sleep(300);
  await traffic.stop();
});
