// The run directory is ours: /tmp is writable by every local user, who could
// plant /tmp/ringcast-<instance> (or a symlink) for the supervisor to write
// and delete files in, or fill it with pid files for `stop` to kill. Every
// command refuses a run directory that is a symlink, has another owner or a
// mode other than 0700, naming it and the fix, and touches nothing in it.
// $XDG_RUNTIME_DIR, when it is a directory of ours, is the default's home.
// Instance names the C side would refuse are refused first.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { freePort, ROOT, ioBackendArgs } = require('./lib/cluster');

delete process.env.XDG_RUNTIME_DIR;
const RINGCAST = path.join(ROOT, 'ringcast');

function name(tag) {
  return `rd${process.pid}${tag}${crypto.randomBytes(2).toString('hex')}`;
}

function ringcast(args, env = process.env) {
  return spawnSync(RINGCAST, args, { encoding: 'utf8', timeout: 60000, env });
}

async function startArgs(instance) {
  return ['start', '--instance', instance, '--edges', '1', '--edge_host', '127.0.0.1',
    '--edge_port', String(await freePort()), '--broker_port', String(await freePort()), '--log_size', '16M',
    ...ioBackendArgs];
}

// Cleans up an instance whatever the test did (a start that should have
// been refused may have succeeded before the fix).
function cleanup(t, instance, env, ...paths) {
  t.after(() => {
    ringcast(['stop', '--instance', instance], env);
    fs.rmSync(`/dev/shm/ringcast-${instance}`, { force: true });
    for (const p of paths) fs.rmSync(p, { recursive: true, force: true });
  });
}

test('a planted run directory is refused by start and stop, and nothing in it is touched', async (t) => {
  const victim = spawn('sleep', ['120'], { stdio: 'ignore' });
  t.after(() => victim.kill('SIGKILL'));
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-planted-'));
  t.after(() => fs.rmSync(elsewhere, { recursive: true, force: true }));
  const plants = [
    ['mode 0755', (dir) => { fs.mkdirSync(dir); fs.chmodSync(dir, 0o755); return dir; }, /mode 0755.*want 0700/],
    ['mode 0777', (dir) => { fs.mkdirSync(dir); fs.chmodSync(dir, 0o777); return dir; }, /mode 0777.*want 0700/],
    ['a symlink', (dir) => { fs.symlinkSync(elsewhere, dir); return elsewhere; }, /is a symlink/],
  ];
  if (process.getuid() === 0) {
    plants.push(['another owner', (dir) => { fs.mkdirSync(dir, { mode: 0o700 }); fs.chownSync(dir, 65534, 65534); return dir; },
      /owner uid 65534/]);
  }
  for (const [what, plant, why] of plants) {
    const instance = name('p');
    const runDir = `/tmp/ringcast-${instance}`;
    cleanup(t, instance, process.env, runDir);
    const inside = plant(runDir);
    // What another user would leave for us to delete or to kill.
    fs.writeFileSync(path.join(inside, 'broker.log'), 'planted\n');
    fs.writeFileSync(path.join(inside, 'broker.pid'), `${victim.pid}\n`);
    const before = fs.readdirSync(inside).sort();
    const r = ringcast(await startArgs(instance));
    assert.notEqual(r.status, 0, `${what}: start accepted it:\n${r.stdout}${r.stderr}`);
    assert.ok(r.stderr.includes(runDir), `${what}: the error names ${runDir}:\n${r.stderr}`);
    assert.match(r.stderr, why, what);
    assert.match(r.stderr, /\brm\b|chmod 700/, `${what}: the error says how to fix it`);
    const s = ringcast(['stop', '--instance', instance]);
    assert.notEqual(s.status, 0, `${what}: stop accepted it`);
    assert.ok(s.stderr.includes(runDir), s.stderr);
    assert.equal(ringcast(['status', '--instance', instance]).status === 0, false);
    assert.deepEqual(fs.readdirSync(inside).sort(), before, `${what}: files were added or deleted`);
    assert.equal(fs.readFileSync(path.join(inside, 'broker.log'), 'utf8'), 'planted\n');
    assert.equal(victim.exitCode, null, `${what}: stop killed the planted pid`);
    assert.ok(!fs.existsSync(`/dev/shm/ringcast-${instance}`), `${what}: a region was created`);
    fs.rmSync(path.join(inside, 'broker.log'));
    fs.rmSync(path.join(inside, 'broker.pid'));
  }
  // An explicit --run_dir is checked the same way.
  const instance = name('x');
  const runDir = path.join(elsewhere, 'explicit');
  fs.mkdirSync(runDir, { mode: 0o755 });
  fs.chmodSync(runDir, 0o755);
  cleanup(t, instance, process.env);
  const r = ringcast([...(await startArgs(instance)), '--run_dir', runDir]);
  assert.notEqual(r.status, 0, r.stdout + r.stderr);
  assert.ok(r.stderr.includes(runDir), r.stderr);
  assert.deepEqual(fs.readdirSync(runDir), []);
});

test('the run directory is created 0700, under any umask, and accepted again by the next start', async (t) => {
  const instance = name('c');
  const runDir = `/tmp/ringcast-${instance}`;
  cleanup(t, instance, process.env, runDir);
  const args = (await startArgs(instance)).map((a) => `'${a}'`).join(' ');
  const r = spawnSync('sh', ['-c', `umask 000; exec '${RINGCAST}' ${args}`], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
  const st = fs.lstatSync(runDir);
  assert.ok(st.isDirectory());
  assert.equal(st.mode & 0o7777, 0o700);
  assert.equal(ringcast(['stop', '--instance', instance]).status, 0);
  const again = ringcast(await startArgs(instance));
  assert.equal(again.status, 0, again.stderr);
  assert.equal(ringcast(['stop', '--instance', instance]).status, 0);
});

test('XDG_RUNTIME_DIR: the default run directory when it is ours; status and stop find it there', async (t) => {
  const xdg = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-xdg-'));
  fs.chmodSync(xdg, 0o700);
  const env = { ...process.env, XDG_RUNTIME_DIR: xdg };
  const instance = name('g');
  cleanup(t, instance, env, xdg, `/tmp/ringcast-${instance}`);
  const runDir = path.join(xdg, `ringcast-${instance}`);
  const r = ringcast(await startArgs(instance), env);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.ok(fs.existsSync(path.join(runDir, 'ctl.sock')), 'the supervisor is in $XDG_RUNTIME_DIR');
  assert.equal(fs.lstatSync(runDir).mode & 0o7777, 0o700);
  assert.equal(fs.existsSync(`/tmp/ringcast-${instance}`), false);
  const st = ringcast(['status', '--instance', instance, '--json'], env);
  assert.equal(st.status, 0, st.stdout + st.stderr);
  assert.equal(JSON.parse(st.stdout).run_dir, runDir);
  const logs = ringcast(['logs', '--instance', instance], env);
  assert.equal(logs.status, 0);
  assert.match(logs.stdout, /broker\.log/);
  assert.equal(ringcast(['stop', '--instance', instance], env).status, 0);
  assert.equal(fs.existsSync(path.join(runDir, 'ctl.sock')), false, 'stop found it');
});

test('XDG_RUNTIME_DIR that is not a directory of ours: /tmp/ringcast-<instance>', async (t) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-xdg-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  const file = path.join(d, 'not-a-dir');
  fs.writeFileSync(file, '');
  const bad = [file, path.join(d, 'missing')];
  if (process.getuid() === 0) {
    const theirs = path.join(d, 'theirs');
    fs.mkdirSync(theirs, { mode: 0o700 });
    fs.chownSync(theirs, 65534, 65534);
    bad.push(theirs);
  }
  const instance = name('f');
  const runDir = `/tmp/ringcast-${instance}`;
  for (const xdg of bad) {
    const env = { ...process.env, XDG_RUNTIME_DIR: xdg };
    cleanup(t, instance, env, runDir);
    const r = ringcast(['status', '--instance', instance, '--json'], env);
    assert.match(r.stdout + r.stderr, new RegExp(`no supervisor in ${runDir}`), `XDG_RUNTIME_DIR=${xdg}`);
  }
  const env = { ...process.env, XDG_RUNTIME_DIR: file };
  const r = ringcast(await startArgs(instance), env);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.ok(fs.existsSync(path.join(runDir, 'ctl.sock')));
  // Started without a usable XDG_RUNTIME_DIR (a service, another session):
  // the commands of a session that has one still find it in /tmp.
  const ours = path.join(d, 'ours');
  fs.mkdirSync(ours, { mode: 0o700 });
  const session = { ...process.env, XDG_RUNTIME_DIR: ours };
  const st = ringcast(['status', '--instance', instance, '--json'], session);
  assert.equal(st.status, 0, st.stdout + st.stderr);
  assert.equal(JSON.parse(st.stdout).run_dir, runDir);
  assert.equal(ringcast(['stop', '--instance', instance], session).status, 0);
  assert.equal(fs.existsSync(path.join(runDir, 'ctl.sock')), false);
});

test('an instance name the C side would refuse is refused before anything is done', async (t) => {
  const p = name('i');
  const bad = [`${p}/b`, `${p}/../x`, `${p} b`, `${p}\there`, `${p}\nx`, '', `${p}${'x'.repeat(81 - p.length)}`];
  for (const inst of bad) {
    const dirs = [`/tmp/ringcast-${inst}`, `/tmp/ringcast-${inst.split('/')[0]}`].filter((d) => !fs.existsSync(d));
    t.after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });
    for (const cmd of [await startArgs(inst), ['stop', '--instance', inst], ['status', '--instance', inst]]) {
      const r = ringcast(cmd);
      assert.equal(r.status, 2, `${JSON.stringify(inst)} ${cmd[0]}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /instance/, r.stderr);
    }
    for (const d of dirs) assert.equal(fs.existsSync(d), false, `${d} was created`);
  }
  // 80 characters, any byte above 0x20 but '/': accepted.
  assert.equal(ringcast(['status', '--instance', `${p}${'x'.repeat(80 - p.length)}`]).status, 1);
});
