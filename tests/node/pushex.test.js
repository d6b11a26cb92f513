// PushEx drop-in mode (--compat pushex): the PushEx push API's replies and
// the real `pushex` npm client (0.0.15, connecting to /push_socket/websocket)
// receiving each push exactly once.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { startCluster, health, waitFor, sleep } = require('./lib/cluster');

// Browser globals the pushex bundle expects (Node 20 has no global WebSocket).
globalThis.window = globalThis.window || { addEventListener() {}, WebSocket };
globalThis.WebSocket = globalThis.WebSocket || WebSocket;
const { Pushex } = require('pushex');

async function push(cluster, body, headers = {}) {
  const res = await fetch(`${cluster.brokerUrl}/api/push`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

const INVALID = { error: 'Invalid push arguments: channel, data, event are required.' };

test('PushEx API replies: echo with a de-duplicated channel list, 422, 403', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--compat', 'pushex', '--api_keys', 'k1'] });
  t.after(() => cluster.stopAndCheck());
  const auth = { authorization: 'Bearer k1' };
  let r = await push(cluster, { channel: ['a', 'b', 'a'], data: { x: 1 }, event: 'woohoo' }, auth);
  assert.deepEqual([r.status, r.json], [200, { channel: ['a', 'b'], data: { x: 1 }, event: 'woohoo' }]);
  r = await push(cluster, { channel: 'a', data: 'data', event: 'e' }, auth);
  assert.deepEqual([r.status, r.json], [200, { channel: ['a'], data: 'data', event: 'e' }]);
  for (const bad of [{ data: 1, event: 'e' }, { channel: 'a', event: 'e' }, { channel: 'a', data: 1 }, '{', '[]',
    { channel: '', data: 1, event: 'e' }, { channel: 'a', data: 1, event: 5 }]) {
    r = await push(cluster, bad, auth);
    assert.deepEqual([r.status, r.json], [422, INVALID], JSON.stringify(bad));
  }
  for (const h of [{}, { authorization: 'Bearer nope' }]) {
    r = await push(cluster, { channel: 'a', data: 1, event: 'e' }, h);
    assert.deepEqual([r.status, r.json], [403, { error: 'Access forbidden' }]);
  }
  assert.equal((await health(cluster)).seq, 3);
});

test('the pushex client receives every push exactly once', async (t) => {
  const cluster = await startCluster({ edges: 2, extra: ['--compat', 'pushex'] });
  const clients = [];
  // The phoenix 1.4 bundled in pushex drops its close handler on
  // disconnect, so its heartbeat interval would keep node alive: clear it.
  t.after(() => {
    for (const c of clients) {
      const s = c.getSocket();
      s.disconnect();
      clearInterval(s.heartbeatTimer);
      s.reconnectTimer.reset();
    }
    cluster.stopAndCheck();
  });
  const url = `ws://127.0.0.1:${cluster.edgePort}/push_socket`;
  const got = [];
  const subs = [];
  for (let i = 0; i < 4; i++) {
    const px = new Pushex(url, { getParams: () => Promise.resolve({ token: 'anything' }), socketReconnectAlgorithm: () => 60000 });
    clients.push(px);
    await px.connect();
    const channel = i % 2 ? 'private-user-1' : 'test';
    const sub = px.subscribe(channel);
    sub.bind('*', (data, event) => got.push({ client: i, channel, data, event }));
    subs.push(sub);
  }
  await waitFor(() => subs.every((s) => s.channel && s.channel.state === 'joined'), 5000, 'pushex joins');

  const sent = [];
  for (let n = 0; n < 20; n++) {
    const channel = n % 3 === 0 ? ['test', 'private-user-1', 'test'] : n % 3 === 1 ? 'test' : 'private-user-1';
    const body = { channel, data: { n }, event: `ev${n % 2}` };
    const r = await push(cluster, body);
    assert.equal(r.status, 200);
    sent.push(body);
  }
  // Clients 0, 2 on "test", 1, 3 on "private-user-1".
  const expect = [];
  for (let c = 0; c < 4; c++) {
    const mine = c % 2 ? 'private-user-1' : 'test';
    for (const s of sent) {
      const chans = Array.isArray(s.channel) ? s.channel : [s.channel];
      if (chans.includes(mine)) expect.push({ client: c, channel: mine, data: s.data, event: s.event });
    }
  }
  await waitFor(() => got.length >= expect.length, 5000, `${expect.length} pushex messages`);
  await sleep(200); // nothing more arrives
  const key = (m) => `${m.client}|${m.data.n}|${m.event}`;
  assert.equal(got.length, expect.length);
  assert.deepEqual(got.map(key).sort(), expect.map(key).sort());
  for (let c = 0; c < 4; c++) {
    const order = got.filter((m) => m.client === c).map((m) => m.data.n);
    assert.deepEqual(order, [...order].sort((a, b) => a - b), `client ${c} in order`);
  }
  // The normal path still works in compat mode.
  const normal = await fetch(`${cluster.brokerUrl}/healthz`);
  assert.equal(normal.status, 200);
});
