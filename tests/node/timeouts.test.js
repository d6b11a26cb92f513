// Connection deadlines from the edge's timing wheel: handshake and idle
// timeouts close the connection; traffic keeps it open.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startCluster, sleep } = require('./lib/cluster');
const { RawClient } = require('./lib/rawws');

test('a connection that never completes its handshake is closed', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--handshake_timeout_ms', '1000'] });
  t.after(() => cluster.stopAndCheck());
  const c = await new RawClient(cluster.edgePort).connect('GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\n');
  const t0 = Date.now();
  await c.until((x) => x.closed, 4000, 'server close');
  const took = Date.now() - t0;
  assert.ok(took >= 900 && took < 3500, `closed after ${took} ms`);
});

test('an idle WebSocket is closed with 1001; one that talks stays open', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--idle_timeout_ms', '1500'] });
  t.after(() => cluster.stopAndCheck());
  const idle = await new RawClient(cluster.edgePort).connect();
  const chatty = await new RawClient(cluster.edgePort).connect();
  await idle.until((x) => x.http !== null, 2000, '101');
  await chatty.until((x) => x.http !== null, 2000, '101');
  assert.match(idle.http, /^HTTP\/1\.1 101 /);
  const t0 = Date.now();
  let ref = 0;
  while (!idle.closeFrame() && Date.now() - t0 < 5000) {
    chatty.sendText([null, String(++ref), 'phoenix', 'heartbeat', {}]);
    await sleep(300);
  }
  assert.equal(idle.closeFrame()?.code, 1001, 'idle connection closed with 1001');
  const took = Date.now() - t0;
  assert.ok(took >= 1000 && took < 4000, `idle close after ${took} ms`);
  assert.equal(chatty.closeFrame(), undefined, 'the chatty connection is still open');
  assert.ok(chatty.frames.filter((f) => f.json && f.json[3] === 'phx_reply').length >= ref - 1);
  idle.destroy();
  chatty.destroy();
});
