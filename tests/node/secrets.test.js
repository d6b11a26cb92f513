// API keys never on a command line: the broker reads them from a file that
// only we can read (`api_keys_file`), warns when one is given as a flag, and
// the supervisor hands the keys it is given (flag or config file) to the
// broker through a 0600 file of its run directory. No child's
// /proc/PID/cmdline, no other file of the run directory, holds a key.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { startCluster, freePort, waitFor, ROOT } = require('./lib/cluster');

// lib/cluster.js expects the run directory in /tmp (the default without
// XDG_RUNTIME_DIR); run_dir.test.js covers XDG_RUNTIME_DIR.
delete process.env.XDG_RUNTIME_DIR;

const BIN = process.env.RINGCAST_BIN || path.join(ROOT, 'build', 'bin');
const RINGCAST = path.join(ROOT, 'ringcast');

function tmpdir(t) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-secrets-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

function writeKeys(file, text, mode = 0o600) {
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
}

async function push(cluster, key) {
  const headers = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await fetch(`${cluster.brokerUrl}/api/push`,
    { method: 'POST', headers, body: JSON.stringify({ topic: 'a', event: 'e', data: 1 }) });
  await res.text();
  return res.status;
}

// A broker of its own (no supervisor) until it listens or exits; returns
// its exit status (null: it was listening and got SIGTERM) and its stderr.
function runBroker(args) {
  return new Promise((resolve) => {
    const instance = `sec${process.pid}${crypto.randomBytes(3).toString('hex')}`;
    const p = spawn(path.join(BIN, 'broker'), ['--instance', instance, '--broker_host', '127.0.0.1', ...args],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 10000);
    p.stderr.on('data', (d) => {
      err += d;
      if (err.includes('producer API listening')) p.kill('SIGTERM');
    });
    p.on('exit', (code) => {
      clearTimeout(timer);
      fs.rmSync(`/dev/shm/ringcast-${instance}`, { force: true });
      resolve({ code, listened: err.includes('producer API listening'), stderr: err });
    });
  });
}

function cmdline(pid) {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

function pidsOf(runDir) {
  return fs.readdirSync(runDir).filter((f) => f.endsWith('.pid'))
    .map((f) => Number(fs.readFileSync(path.join(runDir, f), 'utf8')));
}

// Every file of the run directory but `except` (the keys file) must be free
// of every secret.
function assertRunDirClean(runDir, secrets, except = null) {
  for (const f of fs.readdirSync(runDir)) {
    const file = path.join(runDir, f);
    if (file === except || !fs.lstatSync(file).isFile()) continue;
    const text = fs.readFileSync(file, 'latin1');
    for (const s of secrets) assert.ok(!text.includes(s), `${file} holds a key`);
  }
}

test('api_keys_file: keys separated by commas or newlines, the file mode-checked', async (t) => {
  const d = tmpdir(t);
  const file = path.join(d, 'keys');
  writeKeys(file, 'first-key\nsecond-key, third-key\r\n\n');
  const cluster = await startCluster({ edges: 1, extra: ['--api_keys_file', file] });
  t.after(() => cluster.stopAndCheck());
  assert.equal(await push(cluster, null), 401);
  assert.equal(await push(cluster, 'nope'), 403);
  for (const k of ['first-key', 'second-key', 'third-key']) assert.equal(await push(cluster, k), 200, k);
  const log = fs.readFileSync(path.join(cluster.runDir, 'broker.log'), 'utf8');
  assert.match(log, /api_keys=3/);
  assert.doesNotMatch(log, /visible to every local user/, 'no warning for a file');
});

test('api_keys_file readable by others, not ours or a symlink: the broker refuses to start, naming it and the fix', async (t) => {
  const d = tmpdir(t);
  const good = path.join(d, 'good');
  writeKeys(good, 'k1\n');
  const cases = [];
  const loose = path.join(d, 'loose');
  writeKeys(loose, 'k1\n', 0o644);
  cases.push([loose, /mode 0644.*chmod 600/]);
  const groupw = path.join(d, 'groupw');
  writeKeys(groupw, 'k1\n', 0o620);
  cases.push([groupw, /mode 0620.*chmod 600/]);
  const link = path.join(d, 'link');
  fs.symlinkSync(good, link);
  cases.push([link, /is a symlink/]);
  if (process.getuid() === 0) {
    const theirs = path.join(d, 'theirs');
    writeKeys(theirs, 'k1\n');
    fs.chownSync(theirs, 65534, 65534);
    cases.push([theirs, /owner uid 65534/]);
  }
  cases.push([path.join(d, 'missing'), /cannot open/]);
  for (const [file, why] of cases) {
    const r = await runBroker(['--broker_port', String(await freePort()), '--api_keys_file', file]);
    assert.equal(r.listened, false, `${file}: the broker started:\n${r.stderr}`);
    assert.notEqual(r.code, 0);
    assert.ok(r.stderr.includes(file), `the error names ${file}:\n${r.stderr}`);
    assert.match(r.stderr, why);
  }
  // Both api_keys and api_keys_file: which one counts would be a guess.
  const r = await runBroker(['--broker_port', String(await freePort()), '--api_keys_file', good, '--api_keys', 'k2']);
  assert.equal(r.listened, false);
  assert.match(r.stderr, /not both/);
  // The good file starts.
  const ok = await runBroker(['--broker_port', String(await freePort()), '--api_keys_file', good]);
  assert.equal(ok.listened, true, ok.stderr);
});

test('api_keys as a flag: the broker warns that every local user sees it and names api_keys_file; from a config file it does not', async (t) => {
  const d = tmpdir(t);
  const flag = await runBroker(['--broker_port', String(await freePort()), '--api_keys', 'flag-key']);
  assert.equal(flag.listened, true, flag.stderr);
  assert.match(flag.stderr, /level=warn .*api_keys.*visible to every local user.*api_keys_file/);
  assert.ok(!flag.stderr.includes('flag-key'), 'the warning shows the key');
  const conf = path.join(d, 'ringcast.conf');
  writeKeys(conf, 'api_keys = conf-key\n');
  const fromFile = await runBroker(['--broker_port', String(await freePort()), '--config', conf]);
  assert.equal(fromFile.listened, true, fromFile.stderr);
  assert.doesNotMatch(fromFile.stderr, /visible to every local user/);
  const eq = await runBroker([`--broker_port=${await freePort()}`, '--api_keys=flag-key']);
  assert.match(eq.stderr, /visible to every local user/, '--api_keys=KEY warns too');
});

// The keys a supervised cluster was given must be nowhere but in its 0600
// keys file: not on any child's command line (nor the supervisor's own), not
// in start.args, logs or pid files; and gone when the cluster stops.
async function checkSupervised(t, extra, keys) {
  const cluster = await startCluster({ edges: 2, extra });
  t.after(() => cluster.stopAndCheck());
  for (const k of keys) assert.equal(await push(cluster, k), 200, k);
  assert.equal(await push(cluster, null), 401);
  const { runDir } = cluster;
  const brokerPid = Number(fs.readFileSync(path.join(runDir, 'broker.pid'), 'utf8'));
  const argv = cmdline(brokerPid);
  const i = argv.indexOf('--api_keys_file');
  assert.ok(i > 0, `the broker was not given --api_keys_file: ${argv.join(' ')}`);
  const keyFile = argv[i + 1];
  assert.equal(path.dirname(keyFile), runDir, 'the keys file is in the run directory');
  const st = fs.lstatSync(keyFile);
  assert.ok(st.isFile());
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(st.uid, process.getuid());
  const pids = pidsOf(runDir);
  assert.ok(pids.length >= 4, `supervisor, broker and two edges: ${pids}`);
  for (const pid of pids) {
    const line = cmdline(pid).join(' ');
    for (const k of keys) assert.ok(!line.includes(k), `pid ${pid}'s command line holds a key: ${line}`);
  }
  assertRunDirClean(runDir, keys, keyFile);
  // Stopped: the keys file is gone too.
  const r = spawnSync(RINGCAST, ['stop', '--instance', cluster.instance], { encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.existsSync(keyFile), false, 'the keys file outlived the cluster');
  assertRunDirClean(runDir, keys);
  return cluster;
}

test('supervisor: --api_keys on its command line reaches the broker as a 0600 file, on no command line', async (t) => {
  const k1 = `flag-${crypto.randomBytes(8).toString('hex')}`;
  const k2 = `flag-${crypto.randomBytes(8).toString('hex')}`;
  await checkSupervised(t, ['--api_keys', `${k1},${k2}`], [k1, k2]);
});

test('supervisor: api_keys in a --config file reaches the broker as a 0600 file as well', async (t) => {
  const d = tmpdir(t);
  const k = `conf-${crypto.randomBytes(8).toString('hex')}`;
  const conf = path.join(d, 'ringcast.conf');
  writeKeys(conf, `api_keys = ${k}\n`);
  await checkSupervised(t, ['--config', conf], [k]);
});

test('supervisor: api_keys and api_keys_file together are refused before anything starts', async () => {
  const instance = `sec${process.pid}both`;
  const r = spawnSync(RINGCAST, ['start', '--instance', instance, '--api_keys', 'k', '--api_keys_file', '/nonexistent'],
    { encoding: 'utf8', timeout: 30000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /not both/);
  assert.equal(fs.existsSync(`/dev/shm/ringcast-${instance}`), false);
  const runDir = `/tmp/ringcast-${instance}`;
  const made = fs.existsSync(runDir);
  fs.rmSync(runDir, { recursive: true, force: true });
  assert.equal(made, false, 'the run directory was created');
});
