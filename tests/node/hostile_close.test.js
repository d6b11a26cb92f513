// A client closed while it still has input queued at the edge (a flood the
// edge stopped reading) must still learn why: the edge sends its close frame
// and its FIN, and reads and drops what still comes until the client closes
// too. Closing the socket with unread input, or input arriving after it, makes
// the kernel answer with a reset, which can overtake the close frame (a
// browser then reports 1006, not 1008) and breaks the client's close echo.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startCluster, metric, sleep } = require('./lib/cluster');
const { frame, handshake } = require('./lib/rawws');

const CLOSE_1008 = Buffer.from([0x88, 0x02, 0x03, 0xf0]);

// A raw client that keeps its side open after the edge's FIN (as a
// WebSocket client does to echo the close), so a reset is seen, not hidden.
function flooder(port) {
  return new Promise((resolve, reject) => {
    const c = { got1008: false, fin: false, resets: 0, tail: Buffer.alloc(0), upgraded: false };
    c.sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => c.sock.write(handshake()));
    c.sock.on('data', (d) => {
      const b = Buffer.concat([c.tail, d]);
      if (!c.upgraded && b.includes('\r\n\r\n')) { c.upgraded = true; resolve(c); }
      if (b.includes(CLOSE_1008)) c.got1008 = true;
      c.tail = b.subarray(-3);
    });
    c.sock.on('end', () => { c.fin = true; });
    c.sock.on('error', (e) => { if (e.code === 'ECONNRESET' || e.code === 'EPIPE') c.resets++; else reject(e); });
  });
}

test('a flooding client closed with 1008 gets the 1008 and a FIN, and can still echo the close: no reset', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  const clients = [];
  t.after(() => { for (const c of clients) c.sock.destroy(); cluster.stopAndCheck(); });
  const N = 8;
  for (let i = 0; i < N; i++) clients.push(await flooder(cluster.edgePort));
  // 3,000 joins each: far past client_msg_rate's burst, most of it still
  // unread when the edge closes the connection.
  const joins = [];
  for (let j = 0; j < 3000; j++) joins.push(frame(1, JSON.stringify([String(j), String(j), `flood:${j}`, 'phx_join', {}])));
  const flood = Buffer.concat(joins);
  // Each client floods without pause until a moment after the edge's FIN,
  // as a misbehaving client does: its writes meet a closed socket unless the
  // edge lingers.
  let stop = false;
  const writers = clients.map((c) => (async () => {
    let finAt = 0;
    while (!stop && !c.sock.destroyed && c.resets === 0) {
      if (c.fin && !finAt) finAt = Date.now();
      if (finAt && Date.now() - finAt > 300) break;
      if (c.sock.writableLength < 256 * 1024) c.sock.write(flood.subarray(0, 64 * 1024));
      await sleep(2);
    }
  })());
  const t0 = Date.now();
  while (Date.now() - t0 < 10000 && !clients.every((c) => c.fin)) await sleep(20);
  await Promise.all(writers);
  stop = true;
  // The client's answer to the close, as RFC 6455 asks, then its FIN.
  for (const c of clients) if (!c.sock.destroyed) c.sock.write(frame(8, Buffer.from([0x03, 0xf0])));
  await sleep(300);
  for (const c of clients) if (!c.sock.destroyed) c.sock.end();
  await sleep(300);
  for (const [i, c] of clients.entries()) {
    assert.equal(c.got1008, true, `client ${i} got no 1008 close frame`);
    assert.equal(c.fin, true, `client ${i} got no FIN`);
    assert.equal(c.resets, 0, `client ${i} got a reset`);
  }
  assert.equal(await metric(cluster, 'ringcast_edge_kicks_rate_total'), N);
  // The edge let go of every one once they closed.
  assert.equal(await metric(cluster, 'ringcast_edge_connections'), 0);
});
