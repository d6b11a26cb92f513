// Feeds: per-topic positions, resume with `since`, history pages, with the
// official phoenix client against a real cluster (docs/protocol.md,
// "Positions", "Resume", "History").
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Socket } = require('phoenix');
const WebSocket = require('ws');
const { startCluster, publish, metric, waitFor, sleep } = require('./lib/cluster');
const R = require('./lib/resilience');

const seqOf = (ref) => Number(String(ref).slice(1));

async function post(cluster, path, body) {
  const res = await fetch(`${cluster.brokerUrl}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json;
}

// A resuming client, as the README shows: `since` comes from the last ref
// it saw, through a params function, so the client's own rejoin resumes.
function resumingClient(cluster, topic, event = 'e') {
  const socket = new Socket(cluster.socketUrl, { transport: WebSocket, reconnectAfterMs: () => 100 });
  const c = { socket, got: [], replies: [], last: null };
  c.channel = socket.channel(topic, () => (c.last ? { since: c.last } : {}));
  // the README's hook: every message passes here before its callbacks
  c.channel.onMessage = (ev, payload, ref) => {
    if (c.last && typeof ref === 'string' && ref[0] === '@') c.last.offset = Number(ref.slice(1));
    return payload;
  };
  c.channel.on(event, (payload, ref) => c.got.push({ offset: seqOf(ref), payload }));
  c.joined = () => new Promise((resolve, reject) => {
    const n = c.replies.length;
    waitFor(() => c.replies.length > n, 10000, 'join reply').then(() => resolve(c.replies[c.replies.length - 1]), reject);
  });
  socket.connect();
  c.channel.join().receive('ok', (resp) => {
    c.replies.push(resp);
    if (!c.last || resp.recovered === false) c.last = { epoch: resp.epoch, offset: resp.offset };
  });
  return c;
}

// Publishes on topic (and on a noise topic in between) until stopped;
// records each acknowledged offset of topic.
function steadyPublisher(cluster, topic, everyMs = 5) {
  const p = { acked: [], running: true };
  p.done = (async () => {
    for (let n = 0; p.running; n++) {
      const r = await publish(cluster, { topic, event: 'e', data: { live: n } });
      assert.equal(r.status, 200);
      p.acked.push(r.json.offset);
      await publish(cluster, { topic: `${topic}:noise`, event: 'e', data: { n } });
      await sleep(everyMs);
    }
  })();
  p.stop = async () => { p.running = false; await p.done; };
  return p;
}

function assertExactRun(got, from, to, what) {
  const offsets = got.map((g) => g.offset);
  assert.deepEqual(offsets, Array.from({ length: to - from + 1 }, (_, i) => from + i), what);
}

test('resume: the official client misses 500 events, rejoins with since, gets exactly them then live ones', async (t) => {
  const cluster = await startCluster({ edges: 2 });
  const c = resumingClient(cluster, 'feed:a');
  t.after(() => { c.socket.disconnect(); cluster.stopAndCheck(); });
  const first = await c.joined();
  assert.match(first.epoch, /^[0-9a-f]{16}$/);
  assert.equal(first.offset, 0);
  assert.equal(first.recovered, undefined, 'no since, no recovered');
  const pub = steadyPublisher(cluster, 'feed:a');
  await waitFor(() => c.got.length >= 20, 5000, 'live events before the disconnect');
  c.socket.disconnect();
  // 500 events on the topic, interleaved with 500 on another, while the
  // steady publisher goes on.
  const batch = [];
  for (let i = 0; i < 500; i++) {
    batch.push({ topic: 'feed:a', event: 'e', data: { missed: i } });
    batch.push({ topic: 'feed:b', event: 'e', data: { i } });
  }
  const br = await post(cluster, '/api/push/batch', batch);
  assert.equal(br.positions.filter((_, i) => i % 2 === 0).every((p) => p.epoch === first.epoch), true);
  const missedWhileAway = c.got.length;
  c.socket.connect();
  const again = await c.joined();
  assert.equal(again.recovered, true, JSON.stringify(again));
  assert.equal(again.epoch, first.epoch);
  assert.ok(again.offset >= c.got[missedWhileAway - 1].offset + 500, `${again.offset}`);
  await sleep(500); // live events after the seam
  await pub.stop();
  const lastAcked = Math.max(...pub.acked);
  await waitFor(() => c.got.length && c.got[c.got.length - 1].offset >= lastAcked, 10000, 'every acked event');
  await sleep(100);
  // Every offset from the first event received to the last, once, in order:
  // nothing missed or doubled at either seam.
  assertExactRun(c.got, c.got[0].offset, lastAcked, 'one unbroken run of offsets');
  assert.equal(c.got.filter((g) => g.payload.missed !== undefined).length, 500, 'the 500 missed events');
  assert.ok(c.got.slice(-5).every((g) => g.payload.live !== undefined), 'live events after the replay');
  assert.equal(await metric(cluster, 'ringcast_edge_resumes_total'), 1);
  assert.equal(await metric(cluster, 'ringcast_edge_resumes_unrecovered_total'), 0);
});

// A raw join through a phoenix client with fixed params; resolves to the reply.
function joinWith(cluster, topic, params, got) {
  const socket = new Socket(cluster.socketUrl, { transport: WebSocket, reconnectAfterMs: () => 60000 });
  socket.connect();
  const ch = socket.channel(topic, params);
  ch.on('e', (payload, ref) => got.push({ offset: seqOf(ref), payload }));
  return new Promise((resolve, reject) => {
    ch.join().receive('ok', (resp) => resolve({ socket, ch, resp }))
      .receive('error', (e) => reject(new Error(JSON.stringify(e))));
  });
}

test('since older than the log holds, another epoch, or past max_replay: recovered false, nothing replayed', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--log_size', '1M', '--max_replay', '50'] });
  const sockets = [];
  t.after(() => { for (const s of sockets) s.disconnect(); cluster.stopAndCheck(); });
  const first = await publish(cluster, { topic: 'old:t', event: 'e', data: { n: 1 } });
  const epoch = first.json.epoch;
  for (let n = 2; n <= 30; n++) await publish(cluster, { topic: 'old:t', event: 'e', data: { n } });
  // Within the log and max_replay: recovered, exactly the events after since.
  let got = [];
  let j = await joinWith(cluster, 'old:t', { since: { epoch, offset: 10 } }, got);
  sockets.push(j.socket);
  assert.deepEqual([j.resp.recovered, j.resp.offset, j.resp.oldest], [true, 30, 1]);
  await waitFor(() => got.length === 20, 3000, '20 replayed');
  assertExactRun(got, 11, 30, 'replay 11..30');
  // Another epoch.
  got = [];
  j = await joinWith(cluster, 'old:t', { since: { epoch: '0123456789abcdef', offset: 10 } }, got);
  sockets.push(j.socket);
  assert.deepEqual([j.resp.recovered, j.resp.epoch], [false, epoch]);
  // Past max_replay (50): 60 events behind.
  for (let n = 31; n <= 80; n++) await publish(cluster, { topic: 'old:t', event: 'e', data: { n } });
  const far = [];
  j = await joinWith(cluster, 'old:t', { since: { epoch, offset: 20 } }, far);
  sockets.push(j.socket);
  assert.equal(j.resp.recovered, false);
  // Overwritten: 2 MB of other topics through the 1 MB ring.
  const big = 'x'.repeat(20000);
  for (let k = 0; k < 10; k++) {
    await post(cluster, '/api/push/batch', Array.from({ length: 10 }, () => ({ topic: 'flood', event: 'e', data: big })));
  }
  const gone = [];
  j = await joinWith(cluster, 'old:t', { since: { epoch, offset: 70 } }, gone);
  sockets.push(j.socket);
  assert.equal(j.resp.recovered, false);
  assert.equal(j.resp.offset, 80, 'the offset survives its records');
  assert.equal(j.resp.oldest, 81, 'nothing held: the next event is the oldest');
  await sleep(300);
  // No partial replay: what these joins received is only what was
  // published after them, live.
  assert.deepEqual(got.filter((g) => g.offset <= 30), [], 'another epoch: nothing replayed');
  assert.deepEqual(far.filter((g) => g.offset <= 80), [], 'past max_replay: nothing replayed');
  assert.deepEqual(gone, [], 'overwritten: nothing replayed');
  // The next event continues the topic's offsets in the same epoch.
  const next = await publish(cluster, { topic: 'old:t', event: 'e', data: { n: 81 } });
  assert.deepEqual([next.json.epoch, next.json.offset], [epoch, 81]);
  await waitFor(() => gone.length === 1, 3000, 'live event');
  assert.equal(await metric(cluster, 'ringcast_edge_resumes_unrecovered_total'), 3);
  // A malformed since is refused with a reason.
  const bad = new Socket(cluster.socketUrl, { transport: WebSocket, reconnectAfterMs: () => 60000 });
  sockets.push(bad);
  bad.connect();
  const err = await new Promise((resolve) => bad.channel('old:t', { since: { epoch: 'zz', offset: 1 } }).join()
    .receive('error', resolve).receive('ok', () => resolve('ok')));
  assert.match(err.reason, /since must be/);
});

function historyPush(ch, payload) {
  return new Promise((resolve, reject) => {
    ch.push('history', payload).receive('ok', resolve).receive('error', (e) => reject(new Error(JSON.stringify(e))))
      .receive('timeout', () => reject(new Error('history timed out')));
  });
}

async function apiHistory(cluster, query) {
  const res = await fetch(`${cluster.brokerUrl}/api/history?${query}`);
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json;
}

test('history: pages of 100 back to the first event among 100,000 others, from a client and /api/history', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--log_size', '64M'] });
  const sockets = [];
  t.after(() => { for (const s of sockets) s.disconnect(); cluster.stopAndCheck(); });
  // 101 batches of 1000: 10 events of page:t among 990 of 50 other topics.
  let n = 0;
  for (let b = 0; b < 101; b++) {
    const batch = [];
    for (let i = 0; i < 1000; i++) {
      if (i % 99 === 0 && n < 1000) batch.push({ topic: 'page:t', event: 'item', data: { n: ++n } });
      else batch.push({ topic: `other:${i % 50}`, event: 'e', data: { b, i } });
    }
    await post(cluster, '/api/push/batch', batch);
  }
  assert.equal(n, 1000);
  const got = [];
  const j = await joinWith(cluster, 'page:t', {}, got);
  sockets.push(j.socket);
  assert.deepEqual([j.resp.offset, j.resp.oldest], [1000, 1]);
  // Newest page first, then back with before, oldest first within a page.
  let page = await historyPush(j.ch, {});
  const seen = [];
  for (;;) {
    const offs = page.events.map((e) => e.offset);
    assert.equal(offs.length, 100);
    assert.deepEqual(offs, Array.from({ length: 100 }, (_, i) => offs[0] + i));
    for (const e of page.events) assert.deepEqual([e.event, e.data], ['item', { n: e.offset }]);
    seen.unshift(...offs);
    if (!page.more) break;
    page = await historyPush(j.ch, { before: offs[0], limit: 100 });
  }
  assert.deepEqual(seen, Array.from({ length: 1000 }, (_, i) => i + 1), 'pages back to the first event, exactly');
  // Forward with after.
  page = await historyPush(j.ch, { after: 0, limit: 100 });
  assert.deepEqual([page.events[0].offset, page.events.length, page.more], [1, 100, true]);
  page = await historyPush(j.ch, { after: 900, limit: 100 });
  assert.deepEqual([page.events[0].offset, page.events.length, page.more], [901, 100, false]);
  page = await historyPush(j.ch, { before: 3, limit: 10 });
  assert.deepEqual(page.events.map((e) => e.offset), [1, 2]);
  assert.equal(page.more, false);
  await assert.rejects(historyPush(j.ch, { before: 5, limit: 101 }), /limit/);
  await assert.rejects(historyPush(j.ch, { before: 5, after: 1 }), /not both/);
  // The same pages from the broker.
  const api = [];
  let before = '';
  for (;;) {
    const p = await apiHistory(cluster, `topic=page:t&limit=100${before}`);
    assert.equal(p.offset, 1000);
    api.unshift(...p.events.map((e) => e.offset));
    if (!p.more) break;
    before = `&before=${p.events[0].offset}`;
  }
  assert.deepEqual(api, seen);
  assert.equal(got.length, 0, 'history is a reply, not broadcasts');
  // 10 pages back, 3 more; the two refused are not pages
  assert.equal(await metric(cluster, 'ringcast_edge_history_pages_total'), 13);
});

test('history pages are capped at history_max_bytes, never below one event', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--history_max_bytes', '64K'] });
  const sockets = [];
  t.after(() => { for (const s of sockets) s.disconnect(); cluster.stopAndCheck(); });
  const big = 'y'.repeat(30000);
  for (let i = 1; i <= 5; i++) await publish(cluster, { topic: 'fat', event: 'e', data: { i, big } });
  await publish(cluster, { topic: 'fat', event: 'e', data: { i: 6, big: big + big + big } }); // 90 KB alone
  const j = await joinWith(cluster, 'fat', {}, []);
  sockets.push(j.socket);
  let page = await historyPush(j.ch, { limit: 10 });
  assert.deepEqual([page.events.map((e) => e.offset), page.more], [[6], true], 'one event even past the cap');
  page = await historyPush(j.ch, { before: 6, limit: 10 });
  assert.deepEqual([page.events.map((e) => e.offset), page.more], [[4, 5], true]);
  page = await historyPush(j.ch, { after: 0, limit: 10 });
  assert.deepEqual([page.events.map((e) => e.offset), page.more], [[1, 2], true], 'after keeps the oldest');
  const api = await apiHistory(cluster, 'topic=fat&before=6&limit=10');
  assert.deepEqual(api.events.map((e) => e.offset), [4, 5]);
});

test('kill -9 an edge while its clients receive: they resume on another edge, every event exactly once', async (t) => {
  const cluster = await startCluster({ edges: 3, extra: ['--drain_ms', '1000'] });
  let clients = [];
  t.after(() => { R.disconnectAll(clients); cluster.stopAndCheck(); });
  clients = await R.connectClients(cluster, 90, { prefix: 'kill:', resume: true });
  const victimPid = R.pidOf(cluster, 'edge.2');
  const producer = R.startProducer(cluster, { prefix: 'kill:', everyMs: 5 });
  await R.sleep(800);
  process.kill(victimPid, 'SIGKILL');
  await R.sleep(200);
  await R.waitFor(() => clients.every((c) => c.joined), 15000, 'every client joined again');
  await R.sleep(800);
  await producer.stop();
  await R.waitDelivered(clients, producer.acked, 8000);
  const victims = clients.filter((c) => c.closes.length > 0);
  console.log(`# ${victims.length} of ${clients.length} clients were on the killed edge; ${producer.acked.length} events acked`);
  assert.ok(victims.length > 0, 'the killed edge held clients');
  for (const c of clients) {
    R.assertOrdered(assert, c); // strictly increasing offsets: nothing doubled
    // Everything acked since the client first joined, the outage included.
    assert.deepEqual(R.missing(c, producer.acked), [], `client ${c.i} missed events`);
  }
  for (const c of victims) assert.deepEqual(c.recovered.slice(1), c.recovered.slice(1).map(() => true), `client ${c.i}`);
});

test('a broker restart keeps epochs and offsets; a resume across it recovers', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  const c = resumingClient(cluster, 'br:t');
  t.after(() => { c.socket.disconnect(); cluster.stopAndCheck(); });
  await c.joined();
  const a = await publish(cluster, { topic: 'br:t', event: 'e', data: { n: 1 } });
  await waitFor(() => c.got.length === 1, 3000, 'first event');
  c.socket.disconnect();
  await publish(cluster, { topic: 'br:t', event: 'e', data: { n: 2 } });
  const brokerPid = R.pidOf(cluster, 'broker');
  process.kill(brokerPid, 'SIGKILL');
  await R.until(async () => {
    const b = (await R.statusJson(cluster)).processes.find((p) => p.name === 'broker');
    return b && b.state === 'running' && b.pid !== brokerPid;
  }, 10000, 'broker restarted');
  let r;
  await R.until(async () => { r = await publish(cluster, { topic: 'br:t', event: 'e', data: { n: 3 } }).catch(() => null); return r && r.status === 200; }, 5000, 'publish after restart');
  assert.deepEqual([r.json.epoch, r.json.offset], [a.json.epoch, 3]);
  c.socket.connect();
  const again = await c.joined();
  assert.equal(again.recovered, true);
  await waitFor(() => c.got.length === 3, 3000, 'the two missed');
  assert.deepEqual(c.got.map((g) => g.payload.n), [1, 2, 3]);
});

test('a topic whose index entry was evicted starts a new epoch; an old since gets recovered false', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--topic_index_entries', '1024', '--log_size', '64M'] });
  const c = resumingClient(cluster, 'ev:x');
  t.after(() => { c.socket.disconnect(); cluster.stopAndCheck(); });
  const first = await c.joined();
  for (let n = 1; n <= 3; n++) await publish(cluster, { topic: 'ev:x', event: 'e', data: { n } });
  await waitFor(() => c.got.length === 3, 3000, 'three events');
  c.socket.disconnect();
  // 20,000 other live topics through a 1,024-entry index.
  for (let b = 0; b < 20; b++) {
    await post(cluster, '/api/push/batch', Array.from({ length: 1000 }, (_, i) => ({ topic: `ev:${b}:${i}`, event: 'e', data: 1 })));
  }
  assert.ok(await metric(cluster, 'ringcast_log_index_evictions_total') > 0);
  c.socket.connect();
  const again = await c.joined();
  assert.equal(again.recovered, false, 'the old position is not trusted');
  assert.notEqual(again.epoch, first.epoch);
  const next = await publish(cluster, { topic: 'ev:x', event: 'e', data: { n: 4 } });
  assert.deepEqual([next.json.epoch, next.json.offset], [again.epoch, 1], 'a new run: offset 1 in the epoch the join named');
});

test('GET /api/history wants an API key when keys are set, and refuses bad requests clearly', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--api_keys', 'hist-key-1'] });
  t.after(() => cluster.stopAndCheck());
  const get = (q, key) => fetch(`${cluster.brokerUrl}/api/history?${q}`,
    { headers: key ? { authorization: `Bearer ${key}` } : {} });
  const pushed = await fetch(`${cluster.brokerUrl}/api/push`, {
    method: 'POST', headers: { authorization: 'Bearer hist-key-1' },
    body: JSON.stringify({ topic: 'k:t', event: 'e', data: { n: 1 } }),
  });
  assert.equal(pushed.status, 200);
  assert.equal((await get('topic=k:t')).status, 401);
  assert.equal((await get('topic=k:t', 'wrong')).status, 403);
  const ok = await get('topic=k:t', 'hist-key-1');
  assert.equal(ok.status, 200);
  const page = await ok.json();
  assert.deepEqual([page.offset, page.oldest, page.more, page.events], [1, 1, false, [{ offset: 1, event: 'e', data: { n: 1 } }]]);
  for (const q of ['', 'topic=k:t&limit=0', 'topic=k:t&limit=101', 'topic=k:t&before=1&after=1', 'topic=k:t&before=x']) {
    const r = await get(q, 'hist-key-1');
    assert.equal(r.status, 400, q);
    assert.match((await r.json()).error, /topic|before|limit/, q);
  }
  const post = await fetch(`${cluster.brokerUrl}/api/history?topic=k:t`, { method: 'POST', headers: { authorization: 'Bearer hist-key-1' } });
  assert.equal(post.status, 405);
  // A topic never published: an empty page, its position named.
  const none = await (await get('topic=k:none', 'hist-key-1')).json();
  assert.deepEqual([none.offset, none.oldest, none.events, none.more], [0, 1, [], false]);
  assert.match(none.epoch, /^[0-9a-f]{16}$/);
});

test('a thousand clients resuming at once get every event exactly once and do not hold the edge back', async (t) => {
  const { spawn } = require('node:child_process');
  const fs = require('node:fs');
  const path = require('node:path');
  const { startBystanders } = require('./lib/bystanders');
  const cluster = await startCluster({ edges: 1, extra: ['--log_size', '64M', '--max_replay', '2000'] });
  const by = await startBystanders(cluster);
  let lg = null;
  t.after(async () => { if (lg && lg.exitCode === null) lg.kill('SIGKILL'); await by.stop(); cluster.stopAndCheck(); });
  // 50 topics of 2,000 events, each carrying the loadgen's "n" (its
  // per-topic sequence check) and "ts".
  const TOPICS = 50, EVENTS = 2000, CLIENTS = 1000;
  for (let b = 0; b < EVENTS / 20; b++) {
    const batch = [];
    for (let k = 1; k <= 20; k++) {
      for (let i = 0; i < TOPICS; i++) batch.push({ topic: `rs:${i}`, event: 'e', data: { ts: Date.now() * 1e6, n: b * 20 + k } });
    }
    await post(cluster, '/api/push/batch', batch);
  }
  const lines = [];
  for (let i = 0; i < TOPICS; i++) {
    const h = await apiHistory(cluster, `topic=rs:${i}&limit=1`);
    assert.deepEqual([h.offset, h.oldest], [EVENTS, 1]);
    lines.push(JSON.stringify({ since: { epoch: h.epoch, offset: 0 } }));
  }
  const dir = fs.mkdtempSync('/tmp/ringcast-resume-');
  fs.writeFileSync(path.join(dir, 'params'), `${lines.join('\n')}\n`);
  const base = await by.phase(1500);
  // The resuming clients are a C loadgen of their own, so that their 2 M
  // events do not slow this process, which measures the bystanders.
  let err = '';
  lg = spawn(process.env.LOADGEN || path.join(process.env.RINGCAST_BIN || 'build/bin', 'loadgen'), ['--mode', 'phoenix', '--host', '127.0.0.1',
    '--port', String(cluster.edgePort), '--path', '/socket/websocket', '--connections', String(CLIENTS), '--rate', '5000',
    '--topics', String(TOPICS), '--topic-prefix', 'rs:', '--join-params', path.join(dir, 'params'),
    '--expect-events', String(EVENTS), '--duration', '60', '--json', path.join(dir, 'out.json')]);
  lg.stderr.on('data', (d) => { err += d; });
  const attacked = await by.phase(3000);
  await waitFor(() => /all-caught-up/.test(err), 50000, `every resuming client caught up: ${err.slice(-400)}`);
  lg.kill('SIGTERM');
  await new Promise((resolve) => lg.on('exit', resolve));
  const out = JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8'));
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`# ${out.caught_up} clients replayed ${out.events_received} events; catch-up ms ${JSON.stringify(out.caught_up_ms)}; `
    + `bystanders p99 ${base.p99} -> ${attacked.p99} ms`);
  assert.equal(out.caught_up, CLIENTS);
  assert.equal(out.events_received, CLIENTS * EVENTS);
  assert.deepEqual([out.missing, out.duplicated, out.out_of_order], [0, 0, 0]);
  assert.deepEqual(out.closes_by_code, {});
  by.check(base, attacked, 'a thousand resumes', { floorMs: 50 });
});
