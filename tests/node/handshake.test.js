// The edge's HTTP side against a real edge: refusals with the statuses of
// proto/close_codes.h, the phoenix subprotocol, Origin checks, capacity.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startCluster } = require('./lib/cluster');
const { RawClient, handshake } = require('./lib/rawws');

async function request(port, text) {
  const c = await new RawClient(port).connect(text);
  await c.until((x) => x.http !== null || x.closed, 3000, 'an HTTP answer');
  return c;
}

test('handshake answers and refusals', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--check_origin', 'https://app.example.com,//*.example.org'] });
  t.after(() => cluster.stopAndCheck());
  const p = cluster.edgePort;
  const cases = [
    ['plain GET is not an upgrade', 'GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['unknown path', handshake('/nope/websocket?vsn=2.0.0'), 404],
    ['missing vsn means 1.0.0: refused as Phoenix does', handshake('/socket/websocket'), 403],
    ['vsn 1.0.0', handshake('/socket/websocket?vsn=1.0.0'), 403],
    ['version 8', handshake().replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8'), 426],
    ['origin not on the list', handshake(undefined, 'Origin: https://evil.example.com\r\n'), 403],
    ['origin on the list', handshake(undefined, 'Origin: https://app.example.com\r\n'), 101],
    ['wildcard origin', handshake(undefined, 'Origin: http://a.b.example.org:8080\r\n'), 101],
    ['no origin (not a browser)', handshake(), 101],
    ['header block too large', `GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nX: ${'a'.repeat(9000)}\r\n\r\n`, 431],
    ['POST', 'POST /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n', 400],
  ];
  for (const [name, text, status] of cases) {
    const c = await request(p, text);
    assert.ok(c.http, `${name}: got an HTTP answer`);
    assert.match(c.http, new RegExp(`^HTTP/1\\.1 ${status} `), `${name}: ${c.http}`);
    if (status === 426) assert.match(c.http, /Sec-WebSocket-Version: 13/);
    c.destroy();
  }
  // Subprotocol: answered "phoenix" when offered (Chrome fails otherwise), absent when not.
  const offered = await request(p, handshake(undefined, 'Sec-WebSocket-Protocol: phoenix, base64url.bearer.phx.c2VjcmV0\r\n'));
  assert.match(offered.http, /^HTTP\/1\.1 101 /);
  assert.match(offered.http, /Sec-WebSocket-Protocol: phoenix\r\n/);
  offered.destroy();
  const plain = await request(p, handshake());
  assert.doesNotMatch(plain.http, /Sec-WebSocket-Protocol/);
  plain.destroy();
  // GET /healthz on the edge port, for load balancers.
  const h = await request(p, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.match(h.http, /^HTTP\/1\.1 200 /);
});

test('an edge at capacity answers 503 with Retry-After and counts it', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--max_connections', '2'] });
  t.after(() => cluster.stopAndCheck());
  const a = await request(cluster.edgePort, handshake());
  const b = await request(cluster.edgePort, handshake());
  assert.match(a.http, /^HTTP\/1\.1 101 /);
  assert.match(b.http, /^HTTP\/1\.1 101 /);
  const c = await request(cluster.edgePort, handshake());
  assert.match(c.http, /^HTTP\/1\.1 503 /);
  const retry = /Retry-After: (\d+)/.exec(c.http);
  assert.ok(retry && +retry[1] >= 1 && +retry[1] <= 10, c.http);
  a.destroy();
  b.destroy();
});

test('protocol errors close with their close codes', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--max_message', '1000'] });
  t.after(() => cluster.stopAndCheck());
  const { frame } = require('./lib/rawws');
  const cases = [
    ['unmasked frame', frame(1, '[null,"1","phoenix","heartbeat",{}]', { mask: false }), 1002],
    ['invalid UTF-8', frame(1, Buffer.from([0x5b, 0xc0, 0x80, 0x5d])), 1007],
    ['not a Phoenix message', frame(1, '{"topic":"x"}'), 1007],
    ['numeric ref', frame(1, '[null,1,"phoenix","heartbeat",{}]'), 1007],
    ['message too big', frame(1, 'x'.repeat(2000)), 1009],
    ['reserved opcode', frame(3, 'x'), 1002],
  ];
  for (const [name, bytes, code] of cases) {
    const c = await new RawClient(cluster.edgePort).connect();
    await c.until((x) => x.http !== null, 2000, '101');
    c.send(bytes);
    await c.until((x) => x.closeFrame() || x.closed, 3000, `close for ${name}`);
    assert.equal(c.closeFrame()?.code, code, name);
    c.destroy();
  }
  // A ping is answered with a pong carrying the same payload; a client close is echoed.
  const c = await new RawClient(cluster.edgePort).connect();
  await c.until((x) => x.http !== null, 2000, '101');
  c.send(frame(9, 'abc'));
  await c.until((x) => x.frames.some((f) => f.opcode === 10), 2000, 'pong');
  assert.equal(c.frames.find((f) => f.opcode === 10).payload.toString(), 'abc');
  const close = Buffer.alloc(2);
  close.writeUInt16BE(1000);
  c.send(frame(8, close));
  await c.until((x) => x.closeFrame(), 2000, 'close echo');
  assert.equal(c.closeFrame().code, 1000);
  await c.until((x) => x.closed, 2000, 'TCP close after the close echo');
});
