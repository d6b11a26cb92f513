// auth = jwt: connect tokens made here with Node's crypto (not ringcast's
// code), checked at the handshake (403, no upgrade), claims checked at
// join, expiry closes with 4001 (docs/protocol.md, "Authentication").
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Socket } = require('phoenix');
const WebSocket = require('ws');
const { startCluster, metric, waitFor } = require('./lib/cluster');
const { RawClient, handshake } = require('./lib/rawws');

const b64u = (b) => Buffer.from(b).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function sign(alg, key, payload, header = {}) {
  const head = b64u(JSON.stringify({ alg, typ: 'JWT', ...header }));
  const body = b64u(JSON.stringify(payload));
  const input = `${head}.${body}`;
  let sig;
  if (alg.startsWith('HS')) sig = crypto.createHmac(`sha${alg.slice(2)}`, key).update(input).digest();
  else if (alg === 'RS256') sig = crypto.sign('sha256', Buffer.from(input), key);
  else if (alg === 'ES256') sig = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  else sig = Buffer.alloc(0);
  return `${input}.${b64u(sig)}`;
}

// Key files in a private directory; secrets 0600.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-auth-'));
const secret = 'a-shared-secret-for-hs-tokens-0001';
const secret2 = 'the-next-secret-during-rotation-02';
const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const file = (name, text, mode) => { const p = path.join(dir, name); fs.writeFileSync(p, text, { mode }); return p; };
const keys = [
  `HS256:file:${file('hs256', `${secret}\n`, 0o600)}`,
  `HS256:file:${file('hs256b', secret2, 0o600)}:next`,
  `HS384:file:${file('hs384', secret, 0o600)}`,
  `HS512:file:${file('hs512', secret, 0o600)}`,
  `RS256:file:${file('rs256.pem', rsa.publicKey.export({ type: 'spki', format: 'pem' }), 0o644)}`,
  `ES256:file:${file('es256.pem', ec.publicKey.export({ type: 'spki', format: 'pem' }), 0o644)}`,
].join(',');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const claims = (extra = {}) => ({ sub: '42', exp: now() + 600, iat: now(), topics: ['user:42:*', 'room:lobby'], ...extra });

async function status(cluster, token, extraHeaders = '') {
  const c = await new RawClient(cluster.edgePort).connect(handshake(
    `/socket/websocket?vsn=2.0.0${token === undefined ? '' : `&token=${encodeURIComponent(token)}`}`, extraHeaders));
  await c.until((x) => x.http !== null, 3000, 'an answer');
  c.destroy();
  return Number(c.http.split(' ')[1]);
}

function connect(cluster, opts) {
  const socket = new Socket(cluster.socketUrl, { transport: WebSocket, reconnectAfterMs: () => 600000, ...opts });
  const closes = [];
  socket.onClose((e) => closes.push(e.code));
  socket.connect();
  return { socket, closes };
}

const join = (socket, topic) => new Promise((resolve) => {
  socket.channel(topic, {}).join().receive('ok', () => resolve('ok')).receive('error', (e) => resolve(e.reason))
    .receive('timeout', () => resolve('timeout'));
});

test('auth = jwt: valid tokens of every algorithm connect; bad ones get 403 without an upgrade', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--auth', 'jwt', '--jwt_keys', keys, '--jwt_leeway_s', '5'] });
  t.after(() => cluster.stopAndCheck());
  const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
  const good = {
    HS256: sign('HS256', secret, claims()), HS384: sign('HS384', secret, claims()), HS512: sign('HS512', secret, claims()),
    RS256: sign('RS256', rsa.privateKey, claims()), ES256: sign('ES256', ec.privateKey, claims()),
    rotation: sign('HS256', secret2, claims()), kid: sign('HS256', secret2, claims(), { kid: 'next' }),
    leeway: sign('HS256', secret, claims({ exp: now() - 2 })),
  };
  for (const [name, tok] of Object.entries(good)) assert.equal(await status(cluster, tok), 101, name);
  const big = sign('HS256', secret, claims({ pad: 'x'.repeat(2800) }));
  assert.ok(big.length > 3800 && big.length <= 4096, `${big.length}`);
  assert.equal(await status(cluster, big), 101, 'a token near 4 KiB fits the handshake');
  const bad = {
    missing: undefined,
    empty: '',
    expired: sign('HS256', secret, claims({ exp: now() - 60 })),
    'not yet valid': sign('HS256', secret, claims({ nbf: now() + 60 })),
    'no exp': sign('HS256', secret, { sub: '42' }),
    'wrong key': sign('HS256', 'another-secret', claims()),
    'kid of another key': sign('HS256', secret, claims(), { kid: 'next' }),
    'alg none': sign('none', null, claims()),
    'alg confusion (HS256 keyed with the RSA public key)': sign('HS256', rsaPem, claims()),
    'header alg not the key\'s': sign('RS256', rsa.privateKey, claims(), { alg: 'ES256' }),
    truncated: good.HS256.slice(0, -5),
    oversized: sign('HS256', secret, claims({ pad: 'x'.repeat(4000) })),
    garbage: 'not.a.token',
  };
  for (const [name, tok] of Object.entries(bad)) assert.equal(await status(cluster, tok), 403, name);
  assert.equal(await metric(cluster, 'ringcast_edge_refused_auth_total'), Object.keys(bad).length);
  // Tokens never reach the logs.
  const logs = fs.readdirSync(cluster.runDir).filter((f) => f.endsWith('.log'))
    .map((f) => fs.readFileSync(path.join(cluster.runDir, f), 'utf8')).join('\n');
  const metricsText = await (await fetch(`${cluster.brokerUrl}/metrics`)).text();
  for (const tok of [...Object.values(good), ...Object.values(bad)]) {
    if (tok && tok.length > 20) assert.ok(!logs.includes(tok.split('.')[2] || tok), 'a token in a log');
    if (tok && tok.length > 20) assert.ok(!metricsText.includes(tok.split('.')[2] || tok), 'a token in /metrics');
  }
  // No query string is ever logged, and a refusal's body names the problem, not the token.
  assert.ok(!/token=|vsn=2/.test(logs), 'a query string in a log');
  const answer = await new Promise((resolve, reject) => {
    const chunks = [];
    const sock = require('node:net').connect(cluster.edgePort, '127.0.0.1',
      () => sock.write(handshake(`/socket/websocket?vsn=2.0.0&token=${bad.expired}`)));
    sock.on('data', (d) => chunks.push(d)).on('error', reject).on('close', () => resolve(Buffer.concat(chunks).toString()));
    setTimeout(() => { sock.destroy(); reject(new Error('no close after the refusal')); }, 3000);
  });
  assert.match(answer, /^HTTP\/1\.1 403[^]*\r\n\r\ninvalid or missing token\n$/);
  assert.ok(!answer.includes(bad.expired.split('.')[2]), 'the token in the refusal');
});

test('auth = jwt: joins inside the topics claim pass, others are unauthorized; the subprotocol bearer works', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--auth', 'jwt', '--jwt_keys', keys] });
  const c = connect(cluster, { params: { token: sign('HS256', secret, claims()) } });
  const b = connect(cluster, { authToken: sign('ES256', ec.privateKey, claims({ topics: ['room:*'] })) });
  t.after(() => { c.socket.disconnect(); b.socket.disconnect(); cluster.stopAndCheck(); });
  assert.equal(await join(c.socket, 'user:42:inbox'), 'ok');
  assert.equal(await join(c.socket, 'room:lobby'), 'ok');
  assert.equal(await join(c.socket, 'user:420:inbox'), 'unauthorized', 'user:42:* must not match user:420:');
  assert.equal(await join(c.socket, 'room:lobby2'), 'unauthorized');
  assert.equal(await join(c.socket, 'user:43:inbox'), 'unauthorized');
  assert.equal(await join(b.socket, 'room:anything'), 'ok');
  assert.equal(await join(b.socket, 'user:42:inbox'), 'unauthorized');
  assert.deepEqual([c.closes, b.closes], [[], []]);
});

test('auth = jwt: a connection whose token expires is closed with 4001', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--auth', 'jwt', '--jwt_keys', keys, '--jwt_leeway_s', '0'] });
  const c = connect(cluster, { params: { token: sign('HS256', secret, claims({ exp: now() + 2 })) } });
  const long = connect(cluster, { params: { token: sign('HS256', secret, claims()) } });
  t.after(() => { c.socket.disconnect(); long.socket.disconnect(); cluster.stopAndCheck(); });
  assert.equal(await join(c.socket, 'room:lobby'), 'ok');
  assert.equal(await join(long.socket, 'room:lobby'), 'ok');
  await waitFor(() => c.closes.length > 0, 6000, 'the close at exp');
  assert.equal(c.closes[0], 4001);
  assert.deepEqual(long.closes, [], 'a token that has not expired keeps its connection');
});

test('auth = jwt: a key file holding a secret readable by others is refused at start', async () => {
  const loose = file('loose', secret, 0o644);
  const r = require('node:child_process').spawnSync(path.join(process.env.RINGCAST_BIN || 'build/bin', 'edge'),
    ['--auth', 'jwt', '--jwt_keys', `HS256:file:${loose}`, '--instance', 'never-used'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /not readable by group or other/);
  assert.ok(!r.stderr.includes(secret), 'the secret is not in the message');
});

// A channel on ringcast:session that records the refresh pushes.
function session(socket) {
  const ch = socket.channel('ringcast:session', {});
  const pushes = [];
  ch.on('refresh', (p) => pushes.push({ ...p, at: Date.now() }));
  const joined = new Promise((resolve) => ch.join().receive('ok', resolve).receive('error', resolve));
  const refresh = (token) => new Promise((resolve) => {
    ch.push('refresh', { token }).receive('ok', () => resolve('ok')).receive('error', (e) => resolve(e.reason))
      .receive('timeout', () => resolve('timeout'));
  });
  return { ch, pushes, joined, refresh };
}

test('auth = jwt: refresh in-band on ringcast:session moves the expiry and the claims; another sub is refused', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--auth', 'jwt', '--jwt_keys', keys, '--jwt_leeway_s', '0'] });
  const c = connect(cluster, { params: { token: sign('HS256', secret, claims({ exp: now() + 3 })) } });
  const lazy = connect(cluster, { params: { token: sign('HS256', secret, claims({ exp: now() + 3 })) } });
  t.after(() => { c.socket.disconnect(); lazy.socket.disconnect(); cluster.stopAndCheck(); });
  const s = session(c.socket);
  await s.joined;
  await waitFor(() => s.pushes.length === 1, 3000, 'the first refresh push');
  // 3 s left: asked to refresh between 1.5 and 2.7 s from now
  assert.ok(s.pushes[0].refresh_in_ms >= 1000 && s.pushes[0].refresh_in_ms <= 2700, JSON.stringify(s.pushes[0]));
  const inbox = c.socket.channel('user:42:inbox', {});
  const closed = [];
  inbox.onClose(() => closed.push(Date.now()));
  await new Promise((resolve) => inbox.join().receive('ok', resolve));
  assert.equal(await join(c.socket, 'room:lobby'), 'ok');
  assert.equal(await s.refresh(sign('HS256', secret, claims({ sub: '43' }))), 'a token for another sub');
  assert.equal(await s.refresh('nonsense'), 'not a signed JWT (header.payload.signature)');
  // A longer token with a narrower claim: the inbox channel is closed (phx_close), the lobby stays.
  assert.equal(await s.refresh(sign('HS256', secret, claims({ exp: now() + 600, topics: ['room:lobby'] }))), 'ok');
  await waitFor(() => closed.length === 1, 3000, 'phx_close for the channel the new claim drops');
  await waitFor(() => s.pushes.length === 2, 3000, 'the next refresh push');
  assert.ok(s.pushes[1].refresh_in_ms > 290000, 'the next refresh is minutes away');
  await waitFor(() => lazy.closes.length > 0, 6000, 'the lazy connection closed');
  assert.equal(lazy.closes[0], 4001);
  await new Promise((r) => setTimeout(r, 1500)); // past the first token's exp
  assert.deepEqual(c.closes, [], 'the refreshed connection outlives its first token');
  assert.equal(await join(c.socket, 'user:42:inbox'), 'unauthorized', 'the new claims apply to joins');
});

test('auth = jwt: a client that misses its refresh is closed with 4001 at exp', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--auth', 'jwt', '--jwt_keys', keys, '--jwt_leeway_s', '0'] });
  const c = connect(cluster, { params: { token: sign('HS256', secret, claims({ exp: now() + 2 })) } });
  t.after(() => { c.socket.disconnect(); cluster.stopAndCheck(); });
  const s = session(c.socket);
  await s.joined;
  const t0 = Date.now();
  await waitFor(() => c.closes.length > 0, 6000, 'the close at exp');
  assert.equal(c.closes[0], 4001);
  assert.ok(Date.now() - t0 > 500, 'not before the token expired');
});

test('auth = jwt: 1,000 tokens sharing one exp over two edges get refresh moments spread over the window', async (t) => {
  const cluster = await startCluster({ edges: 2, extra: ['--auth', 'jwt', '--jwt_keys', keys, '--jwt_leeway_s', '0'] });
  const exp = now() + 1000;
  const socks = [];
  t.after(() => { for (const w of socks) w.terminate(); cluster.stopAndCheck(); });
  const got = [];
  const N = 1000;
  for (let i = 0; i < N; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, k) => new Promise((resolve, reject) => {
      const tok = sign('HS256', secret, { sub: `u${i + k}`, exp });
      const w = new WebSocket(`ws://127.0.0.1:${cluster.edgePort}/socket/websocket?vsn=2.0.0&token=${tok}`);
      socks.push(w);
      w.on('open', () => w.send(JSON.stringify(['1', '1', 'ringcast:session', 'phx_join', {}])));
      w.on('message', (d) => {
        const m = JSON.parse(d);
        if (m[3] === 'refresh') { got.push({ at: Date.now(), ms: m[4].refresh_in_ms }); resolve(); }
      });
      w.on('error', reject);
    })));
  }
  assert.equal(got.length, N);
  // The window is 0.5-0.9 of the ~1000 s left: each tenth of it holds 5-15 %.
  const left = (exp - now()) * 1000;
  const lo = 0.5 * left, span = 0.4 * left;
  const tenths = new Array(10).fill(0);
  for (const g of got) tenths[Math.min(9, Math.max(0, Math.floor(((g.ms - lo) / span) * 10)))]++;
  for (const n of tenths) assert.ok(n >= 0.05 * N && n <= 0.15 * N, `tenths of the window: ${tenths}`);
  // Two edges do not draw one sequence: almost no value repeats.
  const distinct = new Set(got.map((g) => g.ms)).size;
  assert.ok(distinct > 0.97 * N, `${distinct} distinct refresh moments of ${N}`);
});

test('kick: POST /api/disconnect closes a user on every edge with 1001 and revokes its older tokens', async (t) => {
  const cluster = await startCluster({ edges: 2, extra: ['--auth', 'jwt', '--jwt_keys', keys] });
  const old = sign('HS256', secret, claims({ iat: now() - 30 }));
  const victims = Array.from({ length: 8 }, () => connect(cluster, { params: { token: old } }));
  const other = connect(cluster, { params: { token: sign('HS256', secret, claims({ sub: '7', topics: ['room:lobby'] })) } });
  t.after(() => { for (const c of [...victims, other]) c.socket.disconnect(); cluster.stopAndCheck(); });
  for (const c of [...victims, other]) assert.equal(await join(c.socket, 'room:lobby'), 'ok');
  const h = await (await fetch(`${cluster.brokerUrl}/healthz`)).json();
  assert.ok(h.edges.every((e) => e.connections > 0), `both edges hold clients: ${JSON.stringify(h.edges)}`);
  const res = await fetch(`${cluster.brokerUrl}/api/disconnect`, { method: 'POST', body: JSON.stringify({ user: '42' }) });
  assert.equal(res.status, 200);
  const { revoked_before: kicked } = await res.json();
  await waitFor(() => victims.every((c) => c.closes.length > 0), 5000, 'every connection of the user closed');
  for (const c of victims) assert.equal(c.closes[0], 1001);
  assert.deepEqual(other.closes, [], 'another user is untouched');
  assert.equal(await status(cluster, old), 403, 'the old token is refused');
  assert.equal(await status(cluster, sign('HS256', secret, claims({ iat: kicked }))), 101, 'a token issued after the kick');
  assert.equal(await status(cluster, sign('HS256', secret, claims())), 101);
  const bad = await fetch(`${cluster.brokerUrl}/api/disconnect`, { method: 'POST', body: '{"user": 5}' });
  assert.equal(bad.status, 400);
  assert.equal(await metric(cluster, 'ringcast_disconnects_total'), 1);
});

test('max_conns_per_user: past it a handshake gets 503 with Retry-After, counted over both edges; a closed or crashed edge gives its places back', async (t) => {
  const R = require('./lib/resilience');
  const limit = 10;
  const cluster = await startCluster({ edges: 2, extra: ['--auth', 'jwt', '--jwt_keys', keys, '--max_conns_per_user', String(limit)] });
  const tok = sign('HS256', secret, claims());
  const mine = Array.from({ length: limit }, () => connect(cluster, { params: { token: tok } }));
  const other = connect(cluster, { params: { token: sign('HS256', secret, claims({ sub: '7', topics: ['room:lobby'] })) } });
  t.after(() => { for (const c of [...mine, other]) c.socket.disconnect(); cluster.stopAndCheck(); });
  for (const c of [...mine, other]) assert.equal(await join(c.socket, 'room:lobby'), 'ok');
  const h = await (await fetch(`${cluster.brokerUrl}/healthz`)).json();
  assert.ok(h.edges.every((e) => e.connections > 0), `both edges hold the user's connections: ${JSON.stringify(h.edges)}`);
  // Whichever edge takes it, the eleventh is refused: the count is the machine's.
  for (let i = 0; i < 4; i++) {
    const c = await new RawClient(cluster.edgePort).connect(handshake(`/socket/websocket?vsn=2.0.0&token=${tok}`));
    await c.until((x) => x.http !== null, 3000, 'an answer');
    c.destroy();
    assert.match(c.http, /^HTTP\/1\.1 503/, 'past max_conns_per_user');
    assert.match(c.http, /\r\nRetry-After: ([1-9]|10)\r\n/i);
    assert.ok(!c.http.includes(tok), 'the answer never holds the token');
  }
  assert.equal(await metric(cluster, 'ringcast_edge_refused_user_total'), 4);
  assert.equal(await status(cluster, sign('HS256', secret, claims({ sub: '7' }))), 101, 'another user is not limited');
  assert.deepEqual(mine.flatMap((c) => c.closes), [], 'the user\'s open connections are never closed for it');
  // One closes: its place is free again.
  mine[0].socket.disconnect();
  const held = [];
  const hold = async () => {
    const c = await new RawClient(cluster.edgePort).connect(handshake(`/socket/websocket?vsn=2.0.0&token=${tok}`));
    await c.until((x) => x.http !== null, 3000, 'an answer');
    if (c.http.startsWith('HTTP/1.1 101')) { held.push(c); return 101; }
    c.destroy();
    return Number(c.http.split(' ')[1]);
  };
  t.after(() => { for (const c of held) c.destroy(); });
  await R.until(async () => (await hold()) === 101, 3000, 'a place after a close');
  assert.equal(await hold(), 503, 'and only one');
  // An edge crashes: the places its connections held come back without it
  // cleaning up (the restarted edge takes the slot with a new generation).
  const victim = R.pidOf(cluster, 'edge.2');
  const h2 = (await (await fetch(`${cluster.brokerUrl}/healthz`)).json()).edges;
  process.kill(victim, 'SIGKILL');
  await R.until(async () => {
    const p = (await R.statusJson(cluster)).processes.find((x) => x.name === 'edge.2');
    return p && p.state === 'running' && p.pid !== victim;
  }, 10000, 'edge restarted');
  const lost = mine.slice(1).filter((c) => c.closes.length > 0).length;
  assert.ok(lost > 0, `the killed edge held some of the user's connections: ${JSON.stringify(h2)}`);
  const lostHeld = held.filter((c) => c.closed).length;
  let ok = 0;
  for (let i = 0; i < lost + lostHeld + 2; i++) ok += (await hold()) === 101 ? 1 : 0;
  assert.equal(ok, lost + lostHeld, 'exactly the crashed edge\'s places came back');
});
