// Starts and stops a real ringcast cluster (broker + edges) through the
// supervisor script, on free loopback ports and a unique instance name, and
// cleans up even when a test fails.
'use strict';
const http = require('node:http');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const crypto = require('node:crypto');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const RINGCAST = path.join(ROOT, 'ringcast');
const live = new Set();

// The kernel may hand the same ephemeral port to two probes in a row once
// the first is closed: a port is never given twice by this process.
const givenPorts = new Set();

function probePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function freePort() {
  for (;;) {
    const port = await probePort();
    if (!givenPorts.has(port)) {
      givenPorts.add(port);
      return port;
    }
  }
}

// make test runs the integration suite once per edge I/O backend
// (RINGCAST_TEST_IO_BACKEND=uring|epoll); every edge a test starts gets it,
// and startCluster checks the edges really run on it.
const IO_BACKEND = process.env.RINGCAST_TEST_IO_BACKEND || '';
const ioBackendArgs = IO_BACKEND ? ['--io_backend', IO_BACKEND] : [];

// Sanitizer or crash reports in the processes' logs make the test fail.
const BAD_LOG = /AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer|level=fatal|Segmentation fault/;

async function startCluster({ edges = 2, extra = [] } = {}) {
  const instance = `t${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  const edgePort = await freePort();
  const brokerPort = await freePort();
  const runDir = `/tmp/ringcast-${instance}`;
  const args = ['start', '--instance', instance, '--edges', String(edges), '--edge_host', '127.0.0.1',
    '--edge_port', String(edgePort), '--broker_port', String(brokerPort), '--log_size', '16M', ...ioBackendArgs,
    ...extra];
  const cluster = {
    instance, edgePort, brokerPort, runDir,
    brokerUrl: `http://127.0.0.1:${brokerPort}`,
    socketUrl: `ws://127.0.0.1:${edgePort}/socket`,
    stopped: false,
    stop() {
      if (cluster.stopped) return [];
      cluster.stopped = true;
      live.delete(cluster);
      spawnSync(RINGCAST, ['stop', '--instance', instance], { stdio: 'ignore', timeout: 30000 });
      try { fs.rmSync(`/dev/shm/ringcast-${instance}`, { force: true }); } catch { /* gone */ }
      const problems = [];
      for (const f of fs.existsSync(runDir) ? fs.readdirSync(runDir) : []) {
        if (!f.endsWith('.log')) continue;
        const text = fs.readFileSync(path.join(runDir, f), 'utf8');
        if (BAD_LOG.test(text)) problems.push(`${f}:\n${text}`);
      }
      fs.rmSync(runDir, { recursive: true, force: true });
      return problems;
    },
    // Stops the cluster and fails if any process logged a sanitizer report or a fatal error.
    stopAndCheck() {
      const problems = cluster.stop();
      if (problems.length) throw new Error(`process logs show problems:\n${problems.join('\n')}`);
    },
  };
  live.add(cluster);
  const r = spawnSync(RINGCAST, args, { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) {
    cluster.stop();
    throw new Error(`ringcast start failed (${r.status}): ${r.stdout}${r.stderr}`);
  }
  if (IO_BACKEND && !extra.includes('--io_backend')) {
    const h = await getJsonOnce(`${cluster.brokerUrl}/healthz`);
    const wrong = h.edges.filter((e) => e.io_backend !== IO_BACKEND);
    if (wrong.length) {
      cluster.stop();
      throw new Error(`edges not on io_backend ${IO_BACKEND}: ${JSON.stringify(h.edges)}`);
    }
  }
  return cluster;
}

process.on('exit', () => { for (const c of [...live]) c.stop(); });
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { for (const c of [...live]) c.stop(); process.exit(1); });
}

// A GET on a connection of its own, closed after the answer: fetch() would
// keep it in its pool, and a test counting the broker's connections sees it.
function getJsonOnce(url) {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => { try { resolve(JSON.parse(body)); } catch (e) { reject(e); } });
    }).on('error', reject);
  });
}

async function publish(cluster, body) {
  const res = await fetch(`${cluster.brokerUrl}/api/push`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

async function health(cluster) {
  const res = await fetch(`${cluster.brokerUrl}/healthz`);
  return res.json();
}

function waitFor(cond, ms, what) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() - t0 > ms) return reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The sum of every series of a /metrics name (per-edge series included);
// NaN if the broker exports no such series.
async function metric(cluster, name) {
  const text = await (await fetch(`${cluster.brokerUrl}/metrics`)).text();
  const lines = text.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return lines.length ? lines.reduce((a, l) => a + Number(l.split(' ').pop()), 0) : NaN;
}

module.exports = { startCluster, publish, health, metric, waitFor, sleep, freePort, ROOT, ioBackendArgs, IO_BACKEND };
