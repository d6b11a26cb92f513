// The producer listener's limits (issue 15, broker/listener.h): JSON 405
// for every other method, 431 for a head over producer_max_header, 408 for
// a request not in within producer_read_timeout_ms of its first byte
// (however steadily it trickles), 503 past producer_max_connections, and
// the API key and the length checked before a byte of the body is read.
// Raw sockets against a real cluster, so the bytes on the wire are ours.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startCluster, health, metric, waitFor, sleep } = require('./lib/cluster');

// Sends `head` (and `body`), then reads until the peer closes or `ms` pass.
// Resolves { status, headers, json, raw, closed, ms, error }.
function raw(port, head, { body, ms = 5000, trickle = 0, keepOpen = false } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let error = null;
    let timer = null;
    let drip = null;
    const done = (closed) => {
      clearTimeout(timer);
      clearInterval(drip);
      if (!keepOpen || closed) s.destroy();
      const text = data.toString('latin1');
      const m = text.match(/^HTTP\/1\.1 (\d{3})/);
      const sep = text.indexOf('\r\n\r\n');
      const headers = {};
      for (const line of (sep >= 0 ? text.slice(0, sep) : '').split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      let json = null;
      try { json = JSON.parse(text.slice(sep + 4)); } catch { /* not one JSON body */ }
      resolve({ status: m ? Number(m[1]) : 0, headers, json, raw: text, closed, ms: Date.now() - t0, error, sock: s });
    };
    s.on('data', (d) => { data = Buffer.concat([data, d]); });
    s.on('error', (e) => { error = e.code; });
    s.on('close', () => done(true));
    timer = setTimeout(() => done(false), ms);
    s.on('connect', () => {
      if (!trickle) {
        s.write(head);
        if (body) s.write(body);
        return;
      }
      let off = 0;
      drip = setInterval(() => {
        if (off < head.length && !s.destroyed) s.write(head[off++]);
      }, trickle);
    });
  });
}

const PUSH = JSON.stringify({ topic: 'l:1', event: 'e', data: { n: 1 } });
const pushHead = (extra = '', len = Buffer.byteLength(PUSH)) =>
  `POST /api/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${len}\r\n${extra}\r\n`;

test('PUT, DELETE, PATCH and unknown methods get a JSON 405 with Allow: POST', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  t.after(() => cluster.stopAndCheck());
  const before = (await health(cluster)).seq;
  for (const path of ['/api/push', '/api/push/batch']) {
    for (const method of ['PUT', 'DELETE', 'PATCH', 'GET', 'OPTIONS', 'FOO']) {
      const withBody = ['PUT', 'PATCH'].includes(method);
      const r = await raw(cluster.brokerPort,
        `${method} ${path} HTTP/1.1\r\nHost: x\r\n${withBody ? `Content-Length: ${PUSH.length}\r\n` : ''}\r\n`,
        { body: withBody ? PUSH : undefined });
      assert.equal(r.status, 405, `${method} ${path}: ${r.raw}`);
      assert.equal(r.headers.allow, 'POST', `${method} ${path}: ${r.raw}`);
      assert.match(r.headers['content-type'] || '', /application\/json/, r.raw);
      assert.deepEqual(r.json, { error: 'use POST' }, `${method} ${path}`);
    }
    // fetch's own PUT / DELETE too (a body the server never reads).
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await fetch(`${cluster.brokerUrl}${path}`, { method, body: method === 'DELETE' ? undefined : PUSH });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get('allow'), 'POST');
      assert.deepEqual(await res.json(), { error: 'use POST' });
    }
  }
  const head = await raw(cluster.brokerPort, 'HEAD /api/push HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(head.status, 405, head.raw);
  assert.equal(head.headers.allow, 'POST');
  assert.equal((await health(cluster)).seq, before, 'nothing written');
  assert.equal(await metric(cluster, 'ringcast_publish_rejected_total{reason="method"}'), 19);
});

test('a head over producer_max_header gets a JSON 431; one under it is served', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--producer_max_header', '4K'] });
  t.after(() => cluster.stopAndCheck());
  let r = await raw(cluster.brokerPort, pushHead(`X-Pad: ${'a'.repeat(3000)}\r\n`), { body: PUSH });
  assert.equal(r.status, 200, r.raw);
  // 20 KB of headers, sent without their blank line: refused once 4K is past.
  r = await raw(cluster.brokerPort, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'b'.repeat(20000)}`);
  assert.equal(r.status, 431, r.raw.slice(0, 300));
  assert.match(r.json.error, /producer_max_header/);
  assert.ok(r.closed, 'closed after the 431');
  // The same as a whole head, on a push.
  r = await raw(cluster.brokerPort, pushHead(`X-Pad: ${'c'.repeat(5000)}\r\n`), { body: PUSH });
  assert.equal(r.status, 431, r.raw.slice(0, 300));
  assert.equal(await metric(cluster, 'ringcast_producer_refused_total{reason="header_too_large"}'), 2);
  assert.equal((await health(cluster)).seq, 1);
});

test('a request not in within producer_read_timeout_ms of its first byte gets 408, however it trickles', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--producer_read_timeout_ms', '1500'] });
  t.after(() => cluster.stopAndCheck());
  // A head trickled a byte every 100 ms: never idle, never finished in time.
  const head = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(200)}\r\n\r\n`;
  const trickled = raw(cluster.brokerPort, head, { trickle: 100, ms: 6000 });
  // A body that stops half way.
  const half = raw(cluster.brokerPort, pushHead(), { body: PUSH.slice(0, 10), ms: 6000 });
  // A connection that sends nothing is closed without an answer.
  const silent = raw(cluster.brokerPort, '', { ms: 6000 });
  const [a, b, c] = await Promise.all([trickled, half, silent]);
  for (const [r, what] of [[a, 'trickled head'], [b, 'half a body']]) {
    assert.equal(r.status, 408, `${what}: ${r.raw}`);
    assert.match(r.json.error, /producer_read_timeout_ms/, what);
    assert.ok(r.ms >= 1300 && r.ms < 4000, `${what} answered after ${r.ms} ms`);
  }
  assert.ok(c.closed && c.raw === '' && c.ms >= 1300 && c.ms < 4000, `silent: ${c.ms} ms ${c.raw}`);
  assert.equal(await metric(cluster, 'ringcast_producer_refused_total{reason="read_timeout"}'), 3);
  assert.equal((await health(cluster)).seq, 0, 'the half push wrote nothing');

  // A request that is slow but in before the deadline is served, and a
  // kept-alive connection's next request gets its own clock.
  const s = net.connect(cluster.brokerPort, '127.0.0.1');
  t.after(() => s.destroy());
  let got = '';
  s.on('data', (d) => { got += d.toString(); });
  await new Promise((resolve) => s.on('connect', resolve));
  for (let i = 0; i < 2; i++) {
    s.write(pushHead());
    await sleep(1000);
    s.write(PUSH);
    await waitFor(() => (got.match(/HTTP\/1\.1 200/g) || []).length === i + 1, 3000, `push ${i} answered: ${got}`);
    await sleep(1000); // idle between requests: not counted against the next
  }
  assert.equal((await health(cluster)).seq, 2);
});

test('past producer_max_connections a connection gets 503 and is counted; freed slots are reused', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--producer_max_connections', '4'] });
  const held = [];
  t.after(() => { for (const s of held) s.destroy(); cluster.stopAndCheck(); });
  for (let i = 0; i < 4; i++) {
    const s = net.connect(cluster.brokerPort, '127.0.0.1');
    s.on('error', () => {});
    await new Promise((resolve) => s.on('connect', resolve));
    held.push(s);
  }
  await sleep(200);
  const r = await raw(cluster.brokerPort, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { ms: 3000 });
  assert.equal(r.status, 503, r.raw);
  assert.match(r.json.error, /producer_max_connections 4/);
  assert.equal(r.headers['retry-after'], '1');
  assert.ok(r.closed, 'the refused connection is closed');
  for (const s of held) s.destroy();
  held.length = 0;
  // Slots freed: served again, and the refusal is in /metrics.
  // (The broker may not have seen the closes yet: a try can still be refused.)
  let served = false, refusedAgain = 0;
  for (let i = 0; i < 20 && !served; i++) {
    const st = (await raw(cluster.brokerPort, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { ms: 1000 })).status;
    served = st === 200;
    refusedAgain += st === 503;
    if (!served) await sleep(100);
  }
  assert.ok(served, 'served once the held connections closed');
  // Closed connections leave the count: only the one asking is open.
  let open = NaN;
  for (let i = 0; i < 50 && open !== 1; i++) {
    const m = await raw(cluster.brokerPort, 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    open = Number((m.raw.match(/^ringcast_producer_connections (\d+)$/m) || [])[1]);
    if (open !== 1) await sleep(50);
  }
  assert.equal(open, 1, 'open producer connections');
  assert.equal(await metric(cluster, 'ringcast_producer_refused_total{reason="max_connections"}'), 1 + refusedAgain, 'refusals');
});

test('the API key and the length of a push are checked before its body is read', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--api_keys', 'k1'] });
  t.after(() => cluster.stopAndCheck());
  // Heads announcing half a megabyte that never comes: answered at once.
  let r = await raw(cluster.brokerPort, pushHead('Authorization: Bearer nope\r\n', 500000), { ms: 3000 });
  assert.deepEqual([r.status, r.json], [403, { error: 'API key not accepted' }], r.raw);
  assert.ok(r.ms < 1500, `answered after ${r.ms} ms`);
  r = await raw(cluster.brokerPort, pushHead('', 500000), { ms: 3000 });
  assert.equal(r.status, 401, r.raw);
  assert.equal(r.headers['www-authenticate'], 'Bearer');
  // Expect: 100-continue with a wrong key: refused, no 100 Continue first.
  r = await raw(cluster.brokerPort, pushHead('Authorization: Bearer nope\r\nExpect: 100-continue\r\n', 500000), { ms: 3000 });
  assert.equal(r.status, 403, r.raw);
  assert.ok(!r.raw.includes('100 Continue'), r.raw);
  // A length over max_body, with the right key: 413 without the body.
  r = await raw(cluster.brokerPort, pushHead('Authorization: Bearer k1\r\n', 1536 * 1024), { ms: 3000 });
  assert.equal(r.status, 413, r.raw);
  assert.match(r.json.error, /max_body/);
  // The right key: 100 Continue, then the body, then the 200.
  const s = net.connect(cluster.brokerPort, '127.0.0.1');
  t.after(() => s.destroy());
  let got = '';
  s.on('data', (d) => { got += d.toString(); });
  await new Promise((resolve) => s.on('connect', resolve));
  s.write(pushHead('Authorization: Bearer k1\r\nExpect: 100-continue\r\n'));
  await waitFor(() => got.includes('\r\n\r\n'), 3000, `100 Continue: ${got}`);
  assert.equal(got, 'HTTP/1.1 100 Continue\r\n\r\n');
  s.write(PUSH);
  await waitFor(() => /HTTP\/1\.1 200[^]*\{"seq":1,"epoch":"[0-9a-f]{16}","offset":1\}/.test(got), 3000, `the 200: ${got}`);
  assert.equal((await health(cluster)).seq, 1);
  assert.equal(await metric(cluster, 'ringcast_publish_rejected_total{reason="forbidden"}'), 2);
  assert.equal(await metric(cluster, 'ringcast_publish_rejected_total{reason="unauthorized"}'), 1);
  assert.equal(await metric(cluster, 'ringcast_publish_rejected_total{reason="too_large"}'), 1);
});

test('keep-alive, pipelined and chunked requests are framed one at a time', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  t.after(() => cluster.stopAndCheck());
  const one = pushHead() + PUSH;
  const chunked = 'POST /api/push HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
    `7\r\n${PUSH.slice(0, 7)}\r\n${(PUSH.length - 7).toString(16)}\r\n${PUSH.slice(7)}\r\n0\r\n\r\n`;
  const r = await raw(cluster.brokerPort,
    one + one + chunked + 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { ms: 5000 });
  assert.deepEqual(r.raw.match(/HTTP\/1\.1 \d{3}/g), ['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200'], r.raw);
  assert.match(r.raw, /"seq":3,/, 'the last reply, /healthz, came after the three pushes');
  assert.ok(r.closed, 'closed after Connection: close');
  // Expect: 100-continue on a kept-alive connection, after a first request.
  const s = net.connect(cluster.brokerPort, '127.0.0.1');
  t.after(() => s.destroy());
  let got = '';
  s.on('data', (d) => { got += d.toString(); });
  await new Promise((resolve) => s.on('connect', resolve));
  s.write(one);
  await waitFor(() => /\{"seq":4,"epoch":"[0-9a-f]{16}","offset":4\}/.test(got), 3000, `the first reply: ${got}`);
  got = '';
  s.write(pushHead('Expect: 100-continue\r\n'));
  await waitFor(() => got.includes('\r\n\r\n'), 3000, `100 Continue: ${got}`);
  assert.equal(got, 'HTTP/1.1 100 Continue\r\n\r\n');
  s.write(PUSH);
  await waitFor(() => /\{"seq":5,"epoch":"[0-9a-f]{16}","offset":5\}/.test(got), 3000, `the second reply: ${got}`);
  s.write(one);
  await waitFor(() => /\{"seq":6,"epoch":"[0-9a-f]{16}","offset":6\}/.test(got), 3000, `the third reply: ${got}`);
  // A malformed chunked body is a JSON 400, and nothing is written.
  const bad = await raw(cluster.brokerPort,
    'POST /api/push HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', { ms: 3000 });
  assert.equal(bad.status, 400, bad.raw);
  assert.ok(bad.json && typeof bad.json.error === 'string', bad.raw);
  assert.equal((await health(cluster)).seq, 6);
});

test('PushEx mode: every invalid push gets PushEx\'s 422, a bad key its 403, another method 405', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--compat', 'pushex', '--api_keys', 'k1', '--max_body', '64K', '--max_data', '1K'] });
  t.after(() => cluster.stopAndCheck());
  const INVALID = { error: 'Invalid push arguments: channel, data, event are required.' };
  const auth = 'Authorization: Bearer k1\r\n';
  const ok = JSON.stringify({ channel: 'a', data: 1, event: 'e' });
  const cases = [
    ['bad JSON', pushHead(auth, 1), '{'],
    ['a missing field', pushHead(auth, 14), '{"channel":"a"}'.slice(0, 14)],
    ['a Content-Length over max_body', pushHead(auth, 70000), ''],
    ['a body over max_data', pushHead(auth, 60000 + 40),
      JSON.stringify({ channel: 'a', event: 'e', data: 'x'.repeat(60000) }).padEnd(60040, ' ')],
    ['a chunked body over max_body', `POST /api/push HTTP/1.1\r\nHost: x\r\n${auth}Transfer-Encoding: chunked\r\n\r\n`,
      `${(70000).toString(16)}\r\n${'x'.repeat(70000)}\r\n0\r\n\r\n`],
    ['a malformed chunked body', `POST /api/push HTTP/1.1\r\nHost: x\r\n${auth}Transfer-Encoding: chunked\r\n\r\n`, 'zz\r\n'],
  ];
  for (const [what, head, body] of cases) {
    const r = await raw(cluster.brokerPort, head, { body, ms: 4000 });
    assert.equal(r.status, 422, `${what}: ${r.raw.slice(0, 300)}`);
    assert.deepEqual(r.json, INVALID, what);
  }
  for (const method of ['PUT', 'DELETE', 'PATCH', 'GET']) {
    const r = await raw(cluster.brokerPort, `${method} /api/push HTTP/1.1\r\nHost: x\r\n${auth}\r\n`);
    assert.deepEqual([r.status, r.headers.allow, r.json], [405, 'POST', INVALID], `${method}: ${r.raw}`);
  }
  for (const a of ['', 'Authorization: Bearer nope\r\n']) {
    const r = await raw(cluster.brokerPort, pushHead(a, ok.length), { body: ok });
    assert.deepEqual([r.status, r.json], [403, { error: 'Access forbidden' }], r.raw);
  }
  const r = await raw(cluster.brokerPort, pushHead(auth + 'Connection: close\r\n', ok.length), { body: ok });
  assert.deepEqual([r.status, r.json], [200, { channel: ['a'], data: 1, event: 'e' }], r.raw);
  assert.equal((await health(cluster)).seq, 1);
});

// No handler of the broker waits yet (hydrated pushes will wait on an
// upstream): listener_hold is an evhttp server behind the same listener
// whose /hold handler answers 3 s after the request is in, with a read
// timeout of 1 s. The held request gets its 200 on a connection still open,
// while the read timeout still cuts a request that is not in.
test('a request held by its handler is not cut by the read timeout', async (t) => {
  const { spawn } = require('node:child_process');
  const path = require('node:path');
  const { freePort, ROOT } = require('./lib/cluster');
  const bin = path.resolve(ROOT, process.env.RINGCAST_BIN || 'build/bin', 'listener_hold');
  const port = await freePort();
  const srv = spawn(bin, [String(port), '3000', '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  srv.stdout.on('data', (d) => { out += d; });
  srv.stderr.on('data', (d) => { out += d; });
  t.after(() => srv.kill('SIGTERM'));
  await waitFor(() => out.includes('listening'), 5000, `listener_hold to start: ${out}`);

  const s = net.connect(port, '127.0.0.1');
  t.after(() => s.destroy());
  let got = '';
  let closed = false;
  s.on('data', (d) => { got += d.toString(); });
  s.on('close', () => { closed = true; });
  await new Promise((resolve) => s.on('connect', resolve));
  const t0 = Date.now();
  s.write('POST /hold HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello');
  const cut = raw(port, 'POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhe', { ms: 4000 });
  await waitFor(() => got.includes('"held_ms":3000'), 6000, `the held reply: ${got}`);
  const ms = Date.now() - t0;
  assert.ok(ms >= 2900, `answered after ${ms} ms`);
  assert.match(got, /^HTTP\/1\.1 200 OK/);
  assert.ok(!closed, 'the connection is still open');
  const c = await cut;
  assert.equal(c.status, 408, `the request that is not in: ${c.raw}`);
  // And it keeps serving on the same connection.
  got = '';
  s.write('GET /now HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor(() => got.includes('"held_ms":0'), 3000, `the next reply: ${got}`);
  assert.ok(!closed);
  srv.kill('SIGTERM');
  await new Promise((resolve) => srv.on('exit', resolve));
  assert.doesNotMatch(out, /AddressSanitizer|LeakSanitizer|runtime error/, out);
});
