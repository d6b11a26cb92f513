// PROXY protocol from trusted_proxies: behind a load balancer the edge
// counts the client the header names, not the balancer; a trusted peer
// without a valid header is closed and counted; anyone else's header is
// just a malformed HTTP request. The edge's direct clients do not notice.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startCluster, metric, sleep } = require('./lib/cluster');
const { startBystanders } = require('./lib/bystanders');
const { RawClient, handshake } = require('./lib/rawws');

const PROXY = '127.0.0.5';

function v2(src, srcPort, { command = 1, tlv = Buffer.alloc(0) } = {}) {
  const sig = Buffer.from([0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]);
  const addrs = Buffer.alloc(12);
  src.split('.').forEach((b, i) => { addrs[i] = Number(b); });
  [127, 0, 0, 1].forEach((b, i) => { addrs[4 + i] = b; });
  addrs.writeUInt16BE(srcPort, 8);
  addrs.writeUInt16BE(4000, 10);
  const body = Buffer.concat([addrs, tlv]);
  const head = Buffer.from([0x20 | command, 0x11, body.length >> 8, body.length & 255]);
  return Buffer.concat([sig, head, body]);
}

async function via(port, bytes, localAddress = PROXY) {
  const c = new RawClient(port, { localAddress });
  await c.connect(null);
  c.send(bytes);
  await c.until((x) => x.http !== null || x.closed, 5000, 'an answer or a close');
  return c;
}

const status = (c) => (c.http ? c.http.split(' ')[1] : 'closed');

test('trusted_proxies: PROXY v1 and v2 name the client that max_conns_per_ip counts; bad headers are refused', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--trusted_proxies', `${PROXY}/32, 10.9.0.0/16`, '--max_conns_per_ip', '2'] });
  const by = await startBystanders(cluster, { n: 2 }); // direct clients from 127.0.0.1, at most 2 of them
  const held = [];
  t.after(async () => { for (const c of held) c.destroy(); await by.stop(); cluster.stopAndCheck(); });
  const base = await by.phase(1500);
  const port = cluster.edgePort;
  const hs = () => Buffer.from(handshake());

  // v2 from the balancer, with a TLV after the addresses; the header and the
  // request arrive in one write and in pieces.
  const a = await via(port, Buffer.concat([v2('10.1.2.3', 5555, { tlv: Buffer.from([0x04, 0x00, 0x01, 0x00]) }), hs()]));
  const b = new RawClient(port, { localAddress: PROXY });
  await b.connect(null);
  const bb = Buffer.concat([v2('10.1.2.3', 5556), hs()]);
  for (let i = 0; i < bb.length; i += 7) { b.send(bb.subarray(i, i + 7)); await sleep(1); }
  await b.until((x) => x.http !== null || x.closed, 5000, 'an answer');
  // The same client a third time: over its cap of 2, though the balancer's
  // own address holds three connections.
  const c3 = await via(port, Buffer.concat([v2('10.1.2.3', 5557), hs()]));
  // Another client through the same balancer, in v1.
  const d = await via(port, Buffer.concat([Buffer.from('PROXY TCP4 10.1.2.4 127.0.0.1 6000 4000\r\n'), hs()]));
  // The balancer's health check (LOCAL) is not counted under any client.
  const local = [];
  for (let i = 0; i < 3; i++) local.push(await via(port, Buffer.concat([v2('0.0.0.0', 0, { command: 0 }), hs()])));
  held.push(a, b, c3, d, ...local);
  assert.deepEqual([a, b, c3, d].map(status), ['101', '101', '503', '101']);
  assert.deepEqual(local.map(status), ['101', '101', '101']);
  assert.equal(await metric(cluster, 'ringcast_edge_refused_ip_total'), 1);

  // From the trusted balancer without a header, with a malformed one, with
  // one too long: closed without an answer, counted.
  const plain = await via(port, hs());
  const bad = await via(port, Buffer.concat([Buffer.from('PROXY TCP4 10.1.2.5  127.0.0.1 1 2\r\n'), hs()]));
  const long = await via(port, Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`));
  held.push(plain, bad, long);
  for (const c of [plain, bad, long]) {
    assert.equal(c.http, null);
    assert.ok(c.closed);
  }
  assert.equal(await metric(cluster, 'ringcast_edge_proxy_refused_total'), 3);

  // Not a trusted peer: a PROXY header is an HTTP request like any other
  // (400), so nobody can claim another address.
  const spoof = await via(port, Buffer.concat([Buffer.from('PROXY TCP4 10.1.2.6 127.0.0.1 1 2\r\n'), hs()]), '127.0.0.6');
  const spoof2 = await via(port, Buffer.concat([v2('10.1.2.6', 1), hs()]), '127.0.0.6');
  held.push(spoof, spoof2);
  assert.equal(status(spoof), '400');
  assert.equal(status(spoof2), '400');
  const attacked = await by.phase(1500);
  by.check(base, attacked, 'trusted_proxies');
});

test('trusted_proxies: a bad entry stops the edge at start with the entry named', async () => {
  await assert.rejects(startCluster({ edges: 1, extra: ['--trusted_proxies', '10.0.0.1/8'] }),
    /trusted_proxies: bad entry "10.0.0.1\/8": host bits set/);
});
