// Where io_uring is refused (Docker's default seccomp profile returns EPERM
// for io_uring_setup): an edge with io_backend=auto serves the official
// phoenix client on epoll and says why in its log, and /healthz shows it;
// with io_backend=uring it refuses to start with the reason. The edges run
// under tests/tools/seccomp_exec, a real libseccomp filter.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Socket } = require('phoenix');
const WebSocket = require('ws');
const { startCluster, publish, health, waitFor, freePort, IO_BACKEND } = require('./lib/cluster');

const BIN = process.env.RINGCAST_BIN || path.join(__dirname, '..', '..', 'build', 'bin');
// The test forces its own backends: once per make test is enough.
const skip = IO_BACKEND === 'epoll' ? 'runs in the uring pass' : false;

function filtered(args) {
  const p = spawn(path.join(BIN, 'seccomp_exec'), [path.join(BIN, 'edge'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  p.out = '';
  p.stdout.on('data', (d) => { p.out += d; });
  p.stderr.on('data', (d) => { p.out += d; });
  p.exited = new Promise((resolve) => p.on('exit', (code, sig) => resolve({ code, sig })));
  return p;
}

test('auto falls back to epoll under a seccomp filter and serves clients; uring refuses', { skip }, async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--io_backend', 'uring'] });
  const port = await freePort();
  const common = ['--instance', cluster.instance, '--edge_host', '127.0.0.1', '--edge_port', String(port)];
  const edge = filtered([...common, '--io_backend', 'auto']);
  let socket;
  t.after(() => { if (socket) socket.disconnect(); edge.kill('SIGKILL'); cluster.stopAndCheck(); });
  await waitFor(() => /edge listening/.test(edge.out), 5000, 'the filtered edge to listen');
  assert.match(edge.out, /level=warn .*msg="io_uring cannot be used: running on epoll" io_backend=auto why="io_uring_setup refused \(EPERM\)/);
  assert.match(edge.out, /allow io_uring_setup, io_uring_enter and io_uring_register/);
  assert.match(edge.out, /msg="edge listening" .* io_backend=epoll/);

  const h = await health(cluster);
  const backends = h.edges.map((e) => e.io_backend).sort();
  assert.deepEqual(backends, ['epoll', 'uring'], JSON.stringify(h.edges));
  const own = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
  assert.equal(own.io_backend, 'epoll');

  // The official client, on the filtered edge only.
  socket = new Socket(`ws://127.0.0.1:${port}/socket`, { transport: WebSocket });
  socket.connect();
  const got = [];
  const channel = socket.channel('room:seccomp', {});
  channel.on('news', (payload) => got.push(payload.n));
  await new Promise((resolve, reject) => channel.join().receive('ok', resolve).receive('error', reject));
  for (let n = 1; n <= 20; n++) assert.equal((await publish(cluster, { topic: 'room:seccomp', event: 'news', data: { n } })).status, 200);
  await waitFor(() => got.length === 20, 5000, '20 events on epoll');
  assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i + 1));

  // io_backend=uring under the same filter: a clear refusal, no fallback.
  const strict = filtered([...common, '--edge_port', String(await freePort()), '--io_backend', 'uring']);
  const { code } = await strict.exited;
  assert.notEqual(code, 0);
  assert.match(strict.out, /level=fatal .*io_backend=uring but io_uring cannot be used .*EPERM/);
  assert.doesNotMatch(strict.out, /edge listening/);
});
