// A hot topic's fan-out yields to the loop: a backlog of thousands of
// events for a topic with hundreds of subscribers is millions of frames to
// queue, and the edge queues at most a few thousand per loop turn before
// receives, sends and timers of every other connection get their turn.
// A prober on another topic sends heartbeats throughout and must get every
// reply promptly; every subscriber still gets every event.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startCluster, health, waitFor, sleep } = require('./lib/cluster');
const { RawClient, frame, handshake } = require('./lib/rawws');

const SUBS = 600;
const BATCHES = 5;
const PER_BATCH = 1000;

// A subscriber that joins the hot topic and then only counts the bytes it
// reads: parsing millions of frames in the test would measure node.
function hotSubscriber(port) {
  return new Promise((resolve, reject) => {
    const s = { bytes: 0, sock: null, closed: false };
    s.sock = net.connect({ port, host: '127.0.0.1' }, () => {
      s.sock.write(handshake());
      s.sock.write(frame(1, JSON.stringify(['1', '1', 'hot:topic', 'phx_join', {}])));
    });
    s.sock.on('data', (d) => {
      s.bytes += d.length;
      if (!s.joined && d.includes('"phx_reply"')) { s.joined = true; resolve(s); }
    });
    s.sock.on('error', reject);
    s.sock.on('close', () => { s.closed = true; });
  });
}

test('a backlog for a hot topic does not hold the loop: heartbeats of others are answered meanwhile', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--out_queue_max', '64M', '--client_msg_rate', '0'] });
  const subs = [];
  let prober = null, pid = 0, probing = false;
  t.after(() => {
    probing = false;
    if (pid) try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
    for (const s of subs) s.sock.destroy();
    if (prober) prober.destroy();
    cluster.stopAndCheck();
  });
  for (let i = 0; i < SUBS; i++) subs.push(await hotSubscriber(cluster.edgePort));
  prober = await new RawClient(cluster.edgePort).connect();
  await prober.until((x) => x.http !== null, 3000, '101');

  // The prober: a heartbeat every 10 ms, the reply's round trip recorded.
  const sentAt = new Map();
  const rtts = [];
  let ref = 0;
  const seen = new Set();
  const collect = () => {
    for (const f of prober.frames) {
      if (!f.json || f.json[3] !== 'phx_reply' || seen.has(f.json[1])) continue;
      seen.add(f.json[1]);
      const at = sentAt.get(f.json[1]);
      if (at !== undefined) rtts.push({ at, rtt: Date.now() - at });
    }
    prober.frames.length = 0;
  };
  prober.sock.on('data', collect);
  probing = true;
  const probe = (async () => {
    while (probing) {
      const r = String(++ref);
      sentAt.set(r, Date.now());
      prober.sendText([null, r, 'phoenix', 'heartbeat', {}]);
      await sleep(10);
    }
  })();
  await sleep(500);

  // The backlog lands at once: the edge is stopped while it is published.
  pid = (await health(cluster)).edges[0].pid;
  const before = subs.map((s) => s.bytes);
  process.kill(pid, 'SIGSTOP');
  const pad = 'y'.repeat(40);
  for (let b = 0; b < BATCHES; b++) {
    const batch = Array.from({ length: PER_BATCH }, (_, i) => ({ topic: 'hot:topic', event: 'e', data: { i: b * PER_BATCH + i, pad } }));
    const res = await fetch(`${cluster.brokerUrl}/api/push/batch`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch),
    });
    assert.equal(res.status, 200, `batch ${b}: ${await res.text()}`);
  }
  const resumed = Date.now();
  process.kill(pid, 'SIGCONT');
  pid = 0;

  // Every subscriber gets the whole backlog (each event is one frame of a
  // known size; count bytes, not frames).
  const one = Buffer.byteLength(JSON.stringify([null, null, 'hot:topic', 'e', { i: 0, pad }]));
  const atLeast = BATCHES * PER_BATCH * (one + 2);
  await waitFor(() => subs.every((s, i) => s.bytes - before[i] >= atLeast), 60000, 'every subscriber to get the backlog');
  const drained = Date.now();
  await sleep(200);
  probing = false;
  await probe;
  collect();
  for (const s of subs) assert.equal(s.closed, false, 'a hot-topic subscriber was closed');

  // Heartbeats sent while the backlog was being fanned out.
  const during = rtts.filter((x) => x.at >= resumed + 50 && x.at <= drained);
  const worst = Math.max(...during.map((x) => x.rtt));
  const fanoutMs = drained - resumed;
  console.log(`# fan-out of ${BATCHES * PER_BATCH} events to ${SUBS} subscribers took ${fanoutMs} ms; ` +
    `${during.length} heartbeats meanwhile, worst reply ${worst} ms`);
  assert.ok(during.length >= 5, `too few heartbeats during the fan-out (${during.length} in ${fanoutMs} ms)`);
  // Unanswered heartbeats count as the whole window.
  const unanswered = [...sentAt.entries()].filter(([r, at]) => at >= resumed + 50 && at <= drained && !seen.has(r));
  assert.equal(unanswered.length, 0, `${unanswered.length} heartbeats were never answered`);
  assert.ok(worst < Math.max(250, fanoutMs / 4), `a heartbeat waited ${worst} ms while the fan-out took ${fanoutMs} ms`);
});
