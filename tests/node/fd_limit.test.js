// An edge near its file-descriptor limit refuses cleanly: it fits
// max_connections under the limit at start, answers every client past it
// 503 with Retry-After, counts the refusals, stays up, and serves again when
// clients leave. (Should accept fail with EMFILE anyway, the edge gives up a
// spare descriptor to answer the waiting client 503; the kernel keeps the
// limit of the moment a multishot accept was armed, so a test cannot lower
// it under a running edge: that path is not exercised here.)
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { RawClient } = require('./lib/rawws');
const { startCluster, sleep, waitFor, freePort, metric, ioBackendArgs } = require('./lib/cluster');

const BIN = process.env.RINGCAST_BIN || path.join(__dirname, '..', '..', 'build', 'bin');

async function open(port, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const c = new RawClient(port);
    await c.connect();
    out.push(c);
  }
  await Promise.all(out.map((c) => c.until((x) => x.http !== null || x.closed, 5000, 'an answer')));
  return out;
}

test('an edge near its descriptor limit refuses with 503, counted, and serves again when clients leave', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  // A second edge of the same instance, started here under a 64-descriptor
  // limit with max_connections far above it: it lowers max_connections to
  // fit (64 - 32 reserved) and refuses the rest with 503.
  const port = await freePort();
  const edge = spawn('prlimit', ['--nofile=64:64', path.join(BIN, 'edge'), '--instance', cluster.instance,
    '--edge_host', '127.0.0.1', '--edge_port', String(port), '--max_connections', '1000', ...ioBackendArgs],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  edge.stdout.on('data', (d) => { log += d; });
  edge.stderr.on('data', (d) => { log += d; });
  const clients = [];
  t.after(() => { for (const c of clients) c.destroy(); edge.kill('SIGKILL'); cluster.stopAndCheck(); });
  await waitFor(() => /edge listening/.test(log), 5000, 'the limited edge to listen');
  assert.match(log, /max_connections lowered to fit the descriptor limit.*now=32/);

  const before = await metric(cluster, 'ringcast_edge_refused_total');
  const burst = await open(port, 50);
  clients.push(...burst);
  const ok = burst.filter((c) => c.http && c.http.startsWith('HTTP/1.1 101'));
  const busy = burst.filter((c) => c.http && c.http.startsWith('HTTP/1.1 503'));
  assert.equal(ok.length, 32);
  assert.equal(busy.length, 18, 'every other client got a 503');
  for (const c of busy) assert.match(c.http, /Retry-After: \d+\r\n/);
  assert.equal(await metric(cluster, 'ringcast_edge_refused_total') - before, 18);

  // Clients leave: the edge serves new ones again.
  for (const c of ok.slice(0, 10)) c.destroy();
  await sleep(300);
  const again = await open(port, 10);
  clients.push(...again);
  for (const c of again) assert.match(c.http, /^HTTP\/1\.1 101/);
  assert.equal(edge.exitCode, null, 'the edge is still running');
  assert.doesNotMatch(log, /AddressSanitizer|runtime error/);
});

test('an edge raises its soft descriptor limit to the hard one, so max_connections means what it says', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  // Soft 64, hard 2000: without the raise the edge would fit only 32
  // connections under the soft limit and refuse the rest.
  const port = await freePort();
  const edge = spawn('prlimit', ['--nofile=64:2000', path.join(BIN, 'edge'), '--instance', cluster.instance,
    '--edge_host', '127.0.0.1', '--edge_port', String(port), '--max_connections', '1000', ...ioBackendArgs],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  edge.stdout.on('data', (d) => { log += d; });
  edge.stderr.on('data', (d) => { log += d; });
  const clients = [];
  t.after(() => { for (const c of clients) c.destroy(); edge.kill('SIGKILL'); cluster.stopAndCheck(); });
  await waitFor(() => /edge listening/.test(log), 5000, 'the limited edge to listen');
  assert.match(log, /descriptor limit raised to the hard limit.*was=64 now=2000/);
  assert.doesNotMatch(log, /max_connections lowered/);
  const burst = await open(port, 200);
  clients.push(...burst);
  const ok = burst.filter((c) => c.http && c.http.startsWith('HTTP/1.1 101'));
  assert.equal(ok.length, 200, 'every client was admitted');
  assert.doesNotMatch(log, /AddressSanitizer|runtime error/);
});
