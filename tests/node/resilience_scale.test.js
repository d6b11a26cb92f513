// Live operations under load with 300 official phoenix clients and a steady
// publish stream: scale up and down, rolling restart, spike prep, and a
// crash-looping edge. Drained edges close their clients with 1012 over the
// drain window (2 s here); clients of the edges that stay miss nothing.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const fs = require('node:fs');
const { startCluster } = require('./lib/cluster');
const R = require('./lib/resilience');

const CLIENTS = 300;
const DRAIN_MS = 2000;
const OPTS = ['--restart_backoff_ms', '100', '--drain_ms', String(DRAIN_MS)];

const edgesOf = async (cluster) => (await R.statusJson(cluster)).processes.filter((p) => p.kind === 'edge');

// Clients never disconnected got every acked event; every client's events
// are in order without duplicates; drained clients were told 1012 and rejoined.
async function checkDelivery(clients, producer) {
  await R.waitDelivered(clients, producer.acked, 5000);
  const untouched = clients.filter((c) => c.closes.length === 0);
  for (const c of untouched) assert.deepEqual(R.missing(c, producer.acked), [], `client ${c.i} (never moved) missed events`);
  for (const c of clients) R.assertOrdered(assert, c);
  for (const c of clients.filter((x) => x.closes.length)) {
    assert.deepEqual([...new Set(c.closes.map((x) => x.code))], [1012], `client ${c.i} closes: ${JSON.stringify(c.closes)}`);
    assert.ok(c.joined, `client ${c.i} did not rejoin`);
  }
  assert.equal(producer.refused.length, 0, `producer refused: ${JSON.stringify(producer.refused.slice(0, 3))}`);
  return untouched.length;
}

test('scale 4 then scale 2 under load: clients of surviving edges lose nothing', async (t) => {
  const cluster = await startCluster({ edges: 2, extra: OPTS });
  let clients = [];
  t.after(() => { R.disconnectAll(clients); cluster.stopAndCheck(); });
  clients = await R.connectClients(cluster, CLIENTS / 2);
  const producer = R.startProducer(cluster);
  await R.sleep(500);

  await R.ringcast(cluster, ['scale', '4']);
  const four = await edgesOf(cluster);
  assert.deepEqual(four.map((e) => `${e.name}:${e.state}`), ['edge.1:running', 'edge.2:running', 'edge.3:running', 'edge.4:running']);
  // New clients spread over all four edges.
  const more = await R.connectClients(cluster, CLIENTS / 2, { batch: 25 });
  more.forEach((c) => { c.i += CLIENTS / 2; });
  clients.push(...more);
  const h4 = await R.edgeHealth(cluster);
  assert.equal(h4.edges.length, 4);
  for (const e of h4.edges) assert.ok(e.connections > 0, `an edge has no clients after scale 4: ${JSON.stringify(h4)}`);
  const onDrained = h4.edges.filter((e) => [four[2].pid, four[3].pid].includes(e.pid)).reduce((a, e) => a + e.connections, 0);
  await R.sleep(500);

  const t0 = Date.now();
  await R.ringcast(cluster, ['scale', '2']);
  const tookMs = Date.now() - t0;
  const two = await edgesOf(cluster);
  assert.deepEqual(two.map((e) => `${e.name}:${e.pid}`), [`edge.1:${four[0].pid}`, `edge.2:${four[1].pid}`],
    'scale 2 drains the newest edges and keeps the first two');
  await R.until(() => clients.every((c) => c.joined), 10000, 'every client joined again');
  await R.sleep(500);
  await producer.stop();
  const untouched = await checkDelivery(clients, producer);
  const moved = clients.length - untouched;
  console.log(`# scale 4 then 2: ${onDrained} clients on the drained edges, ${moved} moved (1012), ${untouched} untouched; `
    + `scale 2 took ${tookMs} ms (drain window ${DRAIN_MS} ms); ${producer.acked.length} events acked`);
  assert.equal(moved, onDrained, 'exactly the drained edges\' clients moved');
  assert.ok(tookMs >= DRAIN_MS * 0.5, 'the drain used its window');
  const h2 = await R.edgeHealth(cluster);
  assert.equal(h2.edges.reduce((a, e) => a + e.connections, 0), CLIENTS);
});

test('restart-edges under load: rolling, every client rejoined, reconnects spread over time', async (t) => {
  const cluster = await startCluster({ edges: 2, extra: OPTS });
  let clients = [];
  t.after(() => { R.disconnectAll(clients); cluster.stopAndCheck(); });
  clients = await R.connectClients(cluster, CLIENTS);
  const oldPids = (await edgesOf(cluster)).map((e) => e.pid);
  const producer = R.startProducer(cluster);
  await R.sleep(500);

  // Capacity: sample the number of running edges while the restart runs.
  let minRunning = Infinity;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const st = await R.statusJson(cluster);
      minRunning = Math.min(minRunning, st.processes.filter((p) => p.kind === 'edge' && p.state === 'running').length);
      await R.sleep(100);
    }
  })();
  const t0 = Date.now();
  await R.ringcast(cluster, ['restart-edges']);
  const t1 = Date.now();
  sampling = false;
  await sampler;
  await R.until(() => clients.every((c) => c.joined), 10000, 'every client joined again');
  await R.sleep(500);
  await producer.stop();
  await checkDelivery(clients, producer);

  const edges = await edgesOf(cluster);
  assert.equal(edges.length, 2);
  for (const e of edges) {
    assert.equal(e.state, 'running');
    assert.ok(!oldPids.includes(e.pid), `${e.name} was not restarted`);
  }
  // Every client was on an old edge, so it moved at least once; one that
  // moved to the other old edge moved again when that one was drained.
  for (const c of clients) assert.ok(c.closes.length >= 1 && c.closes.length <= 2, `client ${c.i} moved ${c.closes.length} times`);
  const closes = clients.flatMap((c) => c.closes.map((x) => x.t));
  const h = R.histogram(closes, t0, t1);
  R.printHistogram(`restart-edges: reconnects per second over ${((t1 - t0) / 1000).toFixed(1)} s`, h);
  console.log(`# restart-edges took ${t1 - t0} ms; running edges never below ${minRunning}`);
  assert.ok(h.max <= 3 * h.share, `a second held ${h.max} reconnects, more than 3x its share ${h.share.toFixed(1)}`);
  assert.ok(minRunning >= 2, 'capacity dropped during the rolling restart');
  const fin = await R.edgeHealth(cluster);
  assert.equal(fin.edges.reduce((a, e) => a + e.connections, 0), CLIENTS);
});

test('prep --edges 4 --for 20s: four edges now, two again after 20 s, surviving clients lose nothing', async (t) => {
  const cluster = await startCluster({ edges: 2, extra: OPTS });
  let clients = [];
  t.after(() => { R.disconnectAll(clients); cluster.stopAndCheck(); });
  clients = await R.connectClients(cluster, CLIENTS / 2);
  const producer = R.startProducer(cluster, { everyMs: 30 });
  const t0 = Date.now();
  const out = (await R.ringcast(cluster, ['prep', '--edges', '4', '--for', '20s'])).out;
  assert.match(out, /4 edge\(s\) running; back to 2 in 20s/);
  assert.equal((await edgesOf(cluster)).filter((e) => e.state === 'running').length, 4);
  const st = await R.statusJson(cluster);
  assert.equal(st.prep.back_to, 2);
  // The spike arrives: new clients land on all four edges.
  const more = await R.connectClients(cluster, CLIENTS / 2, { batch: 25 });
  more.forEach((c) => { c.i += CLIENTS / 2; });
  clients.push(...more);
  const h4 = await R.edgeHealth(cluster);
  for (const e of h4.edges) assert.ok(e.connections > 0, `an edge has no clients during prep: ${JSON.stringify(h4)}`);

  await R.until(async () => (await edgesOf(cluster)).length === 2, 20000 + DRAIN_MS + 8000, 'back to 2 edges');
  const backMs = Date.now() - t0;
  await R.until(() => clients.every((c) => c.joined), 10000, 'every client joined again');
  await R.sleep(300);
  await producer.stop();
  const untouched = await checkDelivery(clients, producer);
  console.log(`# prep: 4 edges at once, back to 2 after ${backMs} ms; ${clients.length - untouched} clients moved, `
    + `${untouched} untouched; ${producer.acked.length} events acked`);
  assert.ok(backMs >= 20000, `scaled back after ${backMs} ms, before the 20 s were over`);
  assert.equal((await R.statusJson(cluster)).prep, null);
});

test('a crash-looping edge is stopped after restart_limit and reported by status', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--restart_limit', '3', '--restart_window_ms', '30000',
    '--restart_backoff_ms', '300', '--drain_ms', '500'] });
  let blocker = null;
  t.after(() => {
    if (blocker) blocker.close();
    const problems = cluster.stop().filter((p) => /AddressSanitizer|LeakSanitizer|runtime error:/.test(p));
    assert.deepEqual(problems, []);
  });
  // Kill the edge and take its port with a plain (non-SO_REUSEPORT) socket:
  // every restart now fails with EADDRINUSE, a real crash loop.
  process.kill(R.pidOf(cluster, 'edge.1'), 'SIGKILL');
  await R.until(async () => {
    try {
      blocker = await new Promise((resolve, reject) => {
        const srv = net.createServer().once('error', reject).listen(cluster.edgePort, '127.0.0.1', () => resolve(srv));
      });
      return true;
    } catch { return false; }
  }, 2000, 'the edge port', 5);
  await R.until(async () => (await edgesOf(cluster))[0].state === 'failed', 15000, 'edge.1 given up');
  const st = await R.ringcast(cluster, ['status'], { allowFail: true });
  console.log(st.out.replace(/^/gm, '# '));
  assert.equal(st.status, 1, 'status exits 1 while a process is given up');
  assert.match(st.out, /edge\.1\s+FAILED .*CRASH LOOP/);
  assert.match(st.out, /ATTENTION: edge\.1 crash-looped/);
  const e = (await edgesOf(cluster))[0];
  assert.equal(e.restarts, 3, 'restarted exactly restart_limit times');
  const log = fs.readFileSync(`${cluster.runDir}/supervisor.log`, 'utf8');
  assert.match(log, /level=error .*msg="CRASH LOOP: not restarting it any more" process=edge\.1/);
  assert.equal((log.match(/msg="died; restarting" process=edge\.1/g) || []).length, 3);
  // Not restarted any more; the broker runs on.
  await R.sleep(1500);
  assert.equal((await edgesOf(cluster))[0].state, 'failed');
  assert.equal((await R.statusJson(cluster)).processes[0].state, 'running');
  // Fixed: restart-edges brings it back.
  blocker.close();
  blocker = null;
  await R.ringcast(cluster, ['restart-edges']);
  assert.equal((await edgesOf(cluster))[0].state, 'running');
  assert.equal((await R.ringcast(cluster, ['status'])).status, 0);
});
