// Processes killed with SIGKILL under a steady publish stream, 300 official
// phoenix clients: the supervisor restarts them, nothing acknowledged is lost.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startCluster } = require('./lib/cluster');
const R = require('./lib/resilience');

const CLIENTS = 300;
const FAST = ['--drain_ms', '1000']; // restarts with the default backoff (first delay 100-200 ms)

test('kill -9 an edge: restarted within 2 s, its clients rejoin elsewhere, the others miss nothing', async (t) => {
  const cluster = await startCluster({ edges: 3, extra: FAST });
  let clients = [];
  let late = [];
  t.after(() => { R.disconnectAll(clients); R.disconnectAll(late); cluster.stopAndCheck(); });
  clients = await R.connectClients(cluster, CLIENTS);
  const before = await R.edgeHealth(cluster);
  const victimPid = R.pidOf(cluster, 'edge.2');
  const victimConns = before.edges.find((e) => e.pid === victimPid).connections;
  assert.ok(victimConns > 0, `edge.2 holds no clients: ${JSON.stringify(before)}`);

  const producer = R.startProducer(cluster);
  await R.sleep(1000);
  const killedAt = Date.now();
  process.kill(victimPid, 'SIGKILL');
  // The supervisor restarts it: a new pid that is listening ("running").
  let restartMs = null;
  await R.until(async () => {
    const e = (await R.statusJson(cluster)).processes.find((p) => p.name === 'edge.2');
    if (e && e.state === 'running' && e.pid !== victimPid) restartMs = Date.now() - killedAt;
    return restartMs !== null;
  }, 5000, 'edge.2 restarted');
  await R.waitFor(() => clients.every((c) => c.joined), 15000, 'every client joined again');
  const rejoinedAt = Date.now();
  await R.sleep(1000);
  await producer.stop();

  const victims = clients.filter((c) => c.closes.length > 0);
  const survivors = clients.filter((c) => c.closes.length === 0);
  await R.waitDelivered(clients, producer.acked, 5000);
  console.log(`# edge.2 (pid ${victimPid}, ${victimConns} clients) killed; running again after ${restartMs} ms; `
    + `${victims.length} clients reconnected, ${survivors.length} untouched; ${producer.acked.length} events acked`);
  assert.ok(restartMs < 2000, `restart took ${restartMs} ms`);
  assert.equal(victims.length, victimConns, 'exactly the killed edge\'s clients were disconnected');
  assert.equal(producer.refused.length, 0, `producer refused: ${JSON.stringify(producer.refused.slice(0, 3))}`);
  for (const c of survivors) {
    assert.deepEqual(R.missing(c, producer.acked), [], `client ${c.i} on a surviving edge missed events`);
  }
  for (const c of clients) R.assertOrdered(assert, c);
  for (const c of victims) {
    assert.ok(c.joins.length >= 2, `client ${c.i} did not rejoin`);
    assert.deepEqual(R.missing(c, producer.acked, rejoinedAt), [], `client ${c.i} missed events after rejoining`);
  }
  // SO_REUSEPORT spread the reconnects over both survivors, and the
  // restarted edge takes new connections.
  const after = await R.edgeHealth(cluster);
  const byPid = Object.fromEntries(after.edges.map((e) => [e.pid, e.connections]));
  for (const name of ['edge.1', 'edge.3']) {
    const pid = R.pidOf(cluster, name);
    const was = before.edges.find((e) => e.pid === pid).connections;
    assert.ok(byPid[pid] > was, `${name} took none of the reconnects (${was} -> ${byPid[pid]})`);
  }
  late = await R.connectClients(cluster, 30, { prefix: 'late:' });
  const fin = await R.edgeHealth(cluster);
  const newPid = R.pidOf(cluster, 'edge.2');
  const onNew = fin.edges.find((e) => e.pid === newPid);
  assert.ok(onNew && onNew.connections > 0, `the restarted edge took none of 30 new clients: ${JSON.stringify(fin)}`);
  assert.equal(fin.edges.reduce((a, e) => a + e.connections, 0), CLIENTS + 30);
});

test('kill -9 the broker: every acked event reaches every client once, in order; the sequence continues', async (t) => {
  const cluster = await startCluster({ edges: 2, extra: FAST });
  let clients = [];
  t.after(() => { R.disconnectAll(clients); cluster.stopAndCheck(); });
  clients = await R.connectClients(cluster, CLIENTS);

  const producer = R.startProducer(cluster);
  await R.sleep(1000);
  const brokerPid = R.pidOf(cluster, 'broker');
  const killedAt = Date.now();
  process.kill(brokerPid, 'SIGKILL');
  let backAt = null;
  await R.until(async () => {
    const b = (await R.statusJson(cluster)).processes.find((p) => p.name === 'broker');
    if (b.state === 'running' && b.pid !== brokerPid) backAt = Date.now();
    return backAt !== null;
  }, 5000, 'broker restarted');
  await R.sleep(1500);
  await producer.stop();
  await R.waitDelivered(clients, producer.acked, 5000);

  const ackedBefore = producer.acked.filter((a) => a.t < killedAt);
  const ackedAfter = producer.acked.filter((a) => a.t > backAt);
  const firstOkAfter = Math.min(...producer.acked.filter((a) => a.t > killedAt).map((a) => a.t));
  console.log(`# broker (pid ${brokerPid}) killed; running again after ${backAt - killedAt} ms; `
    + `${producer.acked.length} events acked (${ackedBefore.length} before, ${ackedAfter.length} after), `
    + `${producer.refused.length} refused: ${[...new Set(producer.refused.map((r) => r.why))].join(', ')}`);
  assert.ok(backAt - killedAt < 2000, `broker restart took ${backAt - killedAt} ms`);
  assert.ok(ackedBefore.length > 20 && ackedAfter.length > 20, 'events acked before and after the restart');
  // Refusals only while the broker was down.
  for (const r of producer.refused) {
    assert.ok(r.t >= killedAt && r.t < firstOkAfter, `refusal outside the outage: ${JSON.stringify(r)}`);
  }
  assert.ok(producer.refused.length > 0, 'the producer saw the outage');
  // The edges kept their clients; every client got every acked event of its
  // topic exactly once, in order.
  for (const c of clients) {
    assert.deepEqual(c.closes, [], `client ${c.i} was disconnected`);
    R.assertOrdered(assert, c);
    assert.deepEqual(R.missing(c, producer.acked), [], `client ${c.i} missed acked events`);
  }
  // Each topic's offsets continued in the same epoch: the records its
  // clients saw form one gap-free run across the restart.
  for (const topic of new Set(clients.map((c) => c.topic))) {
    const seen = [...new Set(clients.filter((c) => c.topic === topic).flatMap((c) => c.seqs))].sort((a, b) => a - b);
    for (let k = 1; k < seen.length; k++) assert.equal(seen[k], seen[k - 1] + 1, `${topic}: gap after offset ${seen[k - 1]}`);
    const epochs = new Set(producer.acked.filter((a) => a.topic === topic).map((a) => a.epoch));
    assert.equal(epochs.size, 1, `${topic} kept its epoch across the restart`);
  }
  for (let k = 1; k < producer.acked.length; k++) assert.ok(producer.acked[k].logSeq > producer.acked[k - 1].logSeq);
  // The first ack after the kill follows the last one before it (+1 more if
  // the request in flight was written but its 200 lost with the broker).
  const lastBefore = ackedBefore[ackedBefore.length - 1].logSeq;
  const firstAfter = producer.acked.find((a) => a.t >= killedAt).logSeq;
  assert.ok(firstAfter === lastBefore + 1 || firstAfter === lastBefore + 2,
    `sequence across the restart: ${lastBefore} -> ${firstAfter}`);
  const log = require('node:fs').readFileSync(`${cluster.runDir}/broker.log`, 'utf8');
  assert.match(log, /msg="log re-attached"/);
});
