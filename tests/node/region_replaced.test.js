// A broker restarted with another log geometry and --recreate_log replaces
// the shm region. Edges on the old region are woken at once (no polling),
// drain their clients with 1012 and exit; an edge started again (the
// supervisor does so) attaches the new region and its clients get the new
// broker's events. Binaries are run directly so the broker can be swapped.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const { spawn } = require('node:child_process');
const { RawClient } = require('./lib/rawws');
const { freePort, waitFor, ioBackendArgs } = require('./lib/cluster');

const BIN = process.env.RINGCAST_BIN || path.join(__dirname, '..', '..', 'build', 'bin');

function run(kind, args) {
  const p = spawn(path.join(BIN, kind), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  p.out = '';
  p.stdout.on('data', (d) => { p.out += d; });
  p.stderr.on('data', (d) => { p.out += d; });
  p.exited = new Promise((resolve) => p.on('exit', (code, sig) => resolve({ code, sig })));
  return p;
}

async function joined(port, topic) {
  const c = await new RawClient(port).connect();
  await c.until((x) => x.http !== null, 3000, 'handshake');
  c.sendText(['1', '1', topic, 'phx_join', {}]);
  await c.until((x) => x.frames.some((f) => f.json && f.json[3] === 'phx_reply'), 3000, 'join');
  return c;
}

async function push(port, n) {
  const r = await fetch(`http://127.0.0.1:${port}/api/push`, {
    method: 'POST', body: JSON.stringify({ topic: 'room:r', event: 'e', data: { n } }),
  });
  assert.equal(r.status, 200);
  return (await r.json()).offset;
}

test('a replaced region drains its edges with 1012; a restarted edge serves the new one', async (t) => {
  const instance = `rr${process.pid}`;
  const bport = await freePort();
  const eport = await freePort();
  const common = ['--instance', instance, '--broker_port', String(bport)];
  const procs = [];
  const clients = [];
  t.after(() => {
    for (const c of clients) c.destroy();
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    fs.rmSync(`/dev/shm/ringcast-${instance}`, { force: true });
  });
  const start = (kind, extra) => { const p = run(kind, [...common, ...extra]); procs.push(p); return p; };

  const b1 = start('broker', ['--log_size', '16M']);
  await waitFor(() => /producer API listening/.test(b1.out), 5000, 'broker 1');
  const edgeArgs = ['--edge_host', '127.0.0.1', '--edge_port', String(eport), '--drain_ms', '500', ...ioBackendArgs];
  const e1 = start('edge', edgeArgs);
  await waitFor(() => /edge listening/.test(e1.out), 5000, 'edge 1');
  const c1 = await joined(eport, 'room:r');
  clients.push(c1);
  await push(bport, 1);
  await c1.until((x) => x.frames.some((f) => f.json && f.json[3] === 'e'), 3000, 'first event');

  // The broker goes; a new one with another geometry replaces the region.
  b1.kill('SIGKILL');
  await b1.exited;
  const b2 = start('broker', ['--log_size', '32M', '--recreate_log', '1']);
  await waitFor(() => /producer API listening/.test(b2.out), 5000, 'broker 2');
  assert.match(b2.out, /log created/);

  // The old edge notices at once, drains with 1012 and exits cleanly.
  const t0 = Date.now();
  const exit = await Promise.race([e1.exited, new Promise((r) => setTimeout(() => r('timeout'), 8000))]);
  assert.notEqual(exit, 'timeout', `edge 1 did not exit: ${e1.out}`);
  assert.equal(exit.code, 0);
  assert.ok(Date.now() - t0 < 4000, 'the edge was woken, not left to a timeout');
  assert.match(e1.out, /log region was replaced/);
  await c1.until((x) => x.closeFrame(), 3000, 'close frame');
  assert.equal(c1.closeFrame().code, 1012);

  // A new edge (the supervisor's restart) attaches the new region.
  const e2 = start('edge', edgeArgs);
  await waitFor(() => /edge listening/.test(e2.out), 5000, 'edge 2');
  const c2 = await joined(eport, 'room:r');
  clients.push(c2);
  const offset = await push(bport, 2);
  await c2.until((x) => x.frames.some((f) => f.json && f.json[3] === 'e'), 3000, 'event from broker 2');
  const ev = c2.frames.find((f) => f.json && f.json[3] === 'e').json;
  assert.deepEqual(ev, [null, `@${offset}`, 'room:r', 'e', { n: 2 }]);
  for (const p of [b2, e2]) assert.doesNotMatch(p.out, /AddressSanitizer|runtime error/);
});

test('a region unlinked out of band and created again drains the edges still on the old one', async (t) => {
  const instance = `ro${process.pid}`;
  const bport = await freePort();
  const eport = await freePort();
  const common = ['--instance', instance];
  const procs = [];
  const clients = [];
  t.after(() => {
    for (const c of clients) c.destroy();
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    fs.rmSync(`/dev/shm/ringcast-${instance}`, { force: true });
  });
  const start = (kind, extra) => { const p = run(kind, [...common, ...extra]); procs.push(p); return p; };
  const b1 = start('broker', ['--broker_port', String(bport)]);
  await waitFor(() => /producer API listening/.test(b1.out), 5000, 'broker 1');
  const edgeArgs = ['--edge_host', '127.0.0.1', '--edge_port', String(eport), '--drain_ms', '500', ...ioBackendArgs];
  const e1 = start('edge', [...edgeArgs, '--broker_port', String(bport)]);
  await waitFor(() => /edge listening/.test(e1.out), 5000, 'edge 1');
  const c1 = await joined(eport, 'room:r');
  clients.push(c1);

  // Someone removes the region by hand (the broker's own message says to,
  // for a region it refuses) while it is in use; a broker then creates a new
  // one under the name. Nothing retires the old one.
  fs.rmSync(`/dev/shm/ringcast-${instance}`);
  const b2 = start('broker', ['--broker_port', String(await freePort())]);
  await waitFor(() => /producer API listening/.test(b2.out), 5000, 'broker 2');
  assert.match(b2.out, /log created/);

  // The old edge finds its mapping is no longer the region, within a second
  // or two (its connection's deadline keeps the loop turning), and drains.
  const t0 = Date.now();
  await c1.until((x) => x.closeFrame(), 5000, 'close frame');
  assert.equal(c1.closeFrame().code, 1012);
  const exit = await Promise.race([e1.exited, new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
  assert.notEqual(exit, 'timeout', `edge 1 did not exit: ${e1.out}`);
  assert.equal(exit.code, 0);
  assert.ok(Date.now() - t0 < 4000, `took ${Date.now() - t0} ms`);
  assert.match(e1.out, /log region was unlinked and created again/);
  for (const p of [b1, b2, e1]) assert.doesNotMatch(p.out, /AddressSanitizer|runtime error/);
});
