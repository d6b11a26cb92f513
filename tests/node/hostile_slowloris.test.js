// Slowloris: clients that trickle their upgrade request a byte at a time
// are closed handshake_timeout_ms after accept, however steadily they
// trickle, and are counted; the edge's other clients do not notice.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startCluster, metric, waitFor, sleep } = require('./lib/cluster');
const { startBystanders } = require('./lib/bystanders');

const N = 200;
const REQUEST = 'GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n' +
  'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nX-Padding: ' + 'a'.repeat(400) + '\r\n';

test('a trickled handshake is closed at handshake_timeout_ms from accept', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--handshake_timeout_ms', '2000'] });
  const by = await startBystanders(cluster);
  const socks = [];
  t.after(async () => { for (const s of socks) s.destroy(); await by.stop(); cluster.stopAndCheck(); });

  const base = await by.phase(2000);
  let closedAt = [];
  const t0 = Date.now();
  for (let i = 0; i < N; i++) {
    const s = net.connect(cluster.edgePort, '127.0.0.1');
    s.on('error', () => {});
    s.on('close', () => closedAt.push(Date.now() - t0));
    socks.push(s);
  }
  // One byte every 250 ms from each: under the old rule (deadline from the
  // last byte) none would ever time out.
  let off = 0;
  const trickle = setInterval(() => {
    for (const s of socks) if (!s.destroyed) s.write(REQUEST[off % REQUEST.length]);
    off++;
  }, 250);
  const attacked = await by.phase(3000);
  await waitFor(() => closedAt.length === N, 4000, 'every slowloris socket to be closed').finally(() => clearInterval(trickle));
  const last = Math.max(...closedAt);
  // Seconds-granular wheel: closed between 2 and ~3.5 s after accept.
  assert.ok(Math.min(...closedAt) >= 1500 && last < 4500, `closed between ${Math.min(...closedAt)} and ${last} ms`);
  assert.ok(off > 8, `only ${off} bytes trickled before the closes`);
  assert.equal(await metric(cluster, 'ringcast_edge_handshake_timeouts_total'), N);
  by.check(base, attacked, 'slowloris');
});
