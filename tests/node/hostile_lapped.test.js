// Loss is never silent: an edge whose log reader is lapped (it stopped
// reading while the writer went round the ring) closes every connection
// subscribed to a topic that lost events with 4009, at random times spread
// over lapped_close_ms, and counts the lap and the records lost.
// Connections whose topics lost nothing (positions say so), or that joined
// nothing, stay open.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Socket } = require('phoenix');
const WebSocket = require('ws');
const { startCluster, publish, health, metric, waitFor, sleep } = require('./lib/cluster');
const { RawClient } = require('./lib/rawws');

test('a lapped edge closes the subscribers of topics that lost events with 4009 over a jittered window; the rest stay', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--log_size', '64K', '--lapped_close_ms', '2000'] });
  const sockets = [];
  const idle = [];
  let pid = 0;
  t.after(() => {
    if (pid) try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
    for (const s of sockets) s.disconnect();
    for (const c of idle) c.destroy();
    cluster.stopAndCheck();
  });
  const subs = [];
  for (let i = 0; i < 30; i++) {
    const socket = new Socket(cluster.socketUrl, { transport: WebSocket, reconnectAfterMs: () => 600000 });
    const s = { closes: [], got: 0 };
    socket.onClose((e) => s.closes.push({ code: e.code, at: Date.now() }));
    socket.connect();
    sockets.push(socket);
    const ch = socket.channel(`room:${i % 3}`, {});
    ch.on('evt', () => { s.got++; });
    await new Promise((resolve, reject) => ch.join().receive('ok', resolve).receive('error', reject));
    subs.push(s);
  }
  // Subscribers of a topic that gets no event while the edge is stopped.
  const quiet = [];
  for (let i = 0; i < 5; i++) {
    const socket = new Socket(cluster.socketUrl, { transport: WebSocket, reconnectAfterMs: () => 600000 });
    const s = { closes: [], got: 0 };
    socket.onClose((e) => s.closes.push({ code: e.code, at: Date.now() }));
    socket.connect();
    sockets.push(socket);
    const ch = socket.channel('quiet:1', {});
    ch.on('evt', () => { s.got++; });
    await new Promise((resolve, reject) => ch.join().receive('ok', resolve).receive('error', reject));
    quiet.push(s);
  }
  await publish(cluster, { topic: 'quiet:1', event: 'evt', data: { n: 0 } });
  await waitFor(() => quiet.every((s) => s.got === 1), 3000, 'the quiet topic\'s event');
  for (let i = 0; i < 5; i++) {
    const c = await new RawClient(cluster.edgePort).connect();
    await c.until((x) => x.http !== null, 3000, '101');
    idle.push(c);
  }
  // Before the lap, events flow.
  assert.equal((await publish(cluster, { topic: 'room:0', event: 'evt', data: { n: 0 } })).status, 200);
  await waitFor(() => subs.filter((s, i) => i % 3 === 0).every((s) => s.got === 1), 3000, 'the first event');

  pid = (await health(cluster)).edges[0].pid;
  process.kill(pid, 'SIGSTOP');
  // 300 events of ~1 KB through a 64 KiB ring: the stopped reader is lapped.
  const pad = 'x'.repeat(1000);
  for (let n = 1; n <= 300; n++) {
    const r = await publish(cluster, { topic: `room:${n % 3}`, event: 'evt', data: { n, pad } });
    assert.equal(r.status, 200);
  }
  const resumed = Date.now();
  process.kill(pid, 'SIGCONT');
  pid = 0;

  await waitFor(() => subs.every((s) => s.closes.length > 0), 6000, 'every subscriber to be closed');
  for (const s of subs) assert.equal(s.closes[0].code, 4009);
  const at = subs.map((s) => s.closes[0].at - resumed);
  const spread = Math.max(...at) - Math.min(...at);
  assert.ok(Math.max(...at) < 4000, `closes within the window (last at ${Math.max(...at)} ms)`);
  assert.ok(spread > 600, `closes spread over ${spread} ms, not one herd`);
  // None received a frame after the lap that could have hidden the gap.
  assert.ok(subs.every((s) => s.got < 100), 'subscribers were not fed past the gap');
  for (const c of idle) assert.equal(c.closeFrame(), undefined, 'a connection that joined nothing stays open');
  for (const s of quiet) assert.deepEqual(s.closes, [], 'a topic that lost nothing keeps its subscribers');
  await publish(cluster, { topic: 'quiet:1', event: 'evt', data: { n: 1 } });
  await waitFor(() => quiet.every((s) => s.got === 2), 3000, 'the quiet topic goes on');
  assert.ok(await metric(cluster, 'ringcast_edge_lapped_total') >= 1);
  assert.equal(await metric(cluster, 'ringcast_edge_kicks_lapped_total'), 30);
  // The edge still serves: a new subscriber gets new events.
  const c = await new RawClient(cluster.edgePort).connect();
  idle.push(c);
  await c.until((x) => x.http !== null, 3000, '101');
  c.sendText(['1', '1', 'room:9', 'phx_join', {}]);
  await c.until((x) => x.frames.some((f) => f.json && f.json[3] === 'phx_reply'), 3000, 'the join reply');
  await publish(cluster, { topic: 'room:9', event: 'evt', data: { n: 1 } });
  await c.until((x) => x.frames.some((f) => f.json && f.json[3] === 'evt'), 3000, 'an event after the lap');
  // The reader counts what it lost once the next record names the gap.
  const lost = await metric(cluster, 'ringcast_edge_lost_total');
  assert.ok(lost > 100 && lost <= 300, `lost ${lost}`);
});
