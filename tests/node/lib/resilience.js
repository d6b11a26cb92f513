// Load and bookkeeping for the resilience tests: a few hundred official
// phoenix clients (default reconnect and rejoin timers), a steady producer,
// the supervisor's CLI, and the checks that no acknowledged event was lost,
// duplicated or reordered.
'use strict';
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { Socket } = require('phoenix');
const WebSocket = require('ws');
const { waitFor, sleep, ROOT } = require('./cluster');

const RINGCAST = path.join(ROOT, 'ringcast');

// Runs a ringcast command against the cluster's instance without blocking
// the event loop (the clients and the producer keep running); rejects on
// failure unless allowFail. Resolves to { status, out }.
function ringcast(cluster, args, { allowFail = false, timeout = 90000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(RINGCAST, [...args, '--instance', cluster.instance], { encoding: 'utf8', timeout }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      const out = `${stdout || ''}${stderr || ''}`;
      if (status !== 0 && !allowFail) reject(new Error(`ringcast ${args.join(' ')} failed (${status}): ${out}`));
      else resolve({ status, out });
    });
  });
}

async function statusJson(cluster) {
  const r = await ringcast(cluster, ['status', '--json'], { allowFail: true });
  return JSON.parse(r.out.slice(0, r.out.lastIndexOf('}') + 1));
}

// Polls an async condition every `every` ms until it holds.
async function until(cond, ms, what, every = 50) {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

function pidOf(cluster, name) {
  return Number(fs.readFileSync(path.join(cluster.runDir, `${name}.pid`), 'utf8'));
}

// A broadcast's ref is "@<offset>": its position in its topic.
const seqOf = (ref) => Number(String(ref).slice(1));

// n clients, client i joins `${prefix}${i % topics}`. Each records what it
// received (offsets in its topic, in order), its closes (code, time) and
// its rejoins. With resume, each passes `since` its last position through
// a params function, as the README shows, so its automatic rejoins resume;
// c.recovered holds every join reply's `recovered`.
async function connectClients(cluster, n, { topics = 4, prefix = 'res:', batch = 50, resume = false } = {}) {
  const clients = [];
  for (let i = 0; i < n; i += batch) {
    const part = [];
    for (let j = i; j < Math.min(n, i + batch); j++) {
      const socket = new Socket(cluster.socketUrl, { transport: WebSocket });
      const c = {
        i: j, topic: `${prefix}${j % topics}`, socket, seqs: [], closes: [], joins: [], joined: false,
        last: null, recovered: [],
      };
      socket.onClose((e) => { c.closes.push({ code: e.code, t: Date.now() }); c.joined = false; });
      socket.connect();
      c.channel = socket.channel(c.topic, resume ? () => (c.last ? { since: { ...c.last } } : {}) : {});
      c.channel.on('evt', (_payload, ref) => {
        c.seqs.push(seqOf(ref));
        if (c.last) c.last.offset = seqOf(ref);
      });
      // The join push keeps its hooks when the client rejoins after a
      // reconnect, so 'ok' records every (re)join.
      const joined = new Promise((resolve, reject) => {
        c.channel.join()
          .receive('ok', (resp) => {
            c.recovered.push(resp.recovered);
            if (!c.last || resp.recovered === false) c.last = { epoch: resp.epoch, offset: resp.offset };
            c.joined = true; c.joins.push(Date.now()); resolve();
          })
          .receive('error', (e) => reject(new Error(`join refused: ${JSON.stringify(e)}`)))
          .receive('timeout', () => reject(new Error('join timed out')));
      });
      part.push(joined);
      clients.push(c);
    }
    await Promise.all(part);
  }
  return clients;
}

function disconnectAll(clients) {
  for (const c of clients) c.socket.disconnect();
}

// Publishes one event every `everyMs` (one request at a time, so the order of
// the 200s is the log order), round-robin over the topics. Records each
// acknowledged {topic, seq: its offset in the topic, logSeq: the log's seq,
// epoch, t: when the request was sent} and each refusal
// {t: when it failed, why}.
function startProducer(cluster, { topics = 4, prefix = 'res:', everyMs = 15 } = {}) {
  const p = { acked: [], refused: [], running: true, n: 0 };
  p.done = (async () => {
    while (p.running) {
      const n = p.n++;
      const topic = `${prefix}${n % topics}`;
      const t = Date.now();
      try {
        const res = await fetch(`${cluster.brokerUrl}/api/push`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ topic, event: 'evt', data: { n } }),
          signal: AbortSignal.timeout(2000),
        });
        const body = await res.json().catch(() => null);
        if (res.status === 200) p.acked.push({ topic, seq: body.offset, logSeq: body.seq, epoch: body.epoch, t });
        else p.refused.push({ t: Date.now(), why: `HTTP ${res.status}` });
      } catch (e) {
        p.refused.push({ t: Date.now(), why: String(e.cause && e.cause.code || e.message) });
      }
      await sleep(everyMs);
    }
  })();
  p.stop = async () => { p.running = false; await p.done; };
  return p;
}

// Strictly increasing seqs: no duplicate, order kept (one topic per client).
function assertOrdered(assert, c) {
  for (let k = 1; k < c.seqs.length; k++) {
    assert.ok(c.seqs[k] > c.seqs[k - 1],
      `client ${c.i} (${c.topic}) got seq ${c.seqs[k]} after ${c.seqs[k - 1]} (duplicate or out of order)`);
  }
}

// The acknowledged events of the client's topic, published after it first
// joined (and after `since`), that did not arrive.
function missing(c, acked, since = 0) {
  const got = new Set(c.seqs);
  const from = Math.max(since, c.joins[0]);
  return acked.filter((a) => a.topic === c.topic && a.t >= from && !got.has(a.seq)).map((a) => a.seq);
}

async function waitDelivered(clients, acked, ms, since = 0) {
  await waitFor(() => clients.every((c) => missing(c, acked, since).length === 0), ms,
    'every acknowledged event at its clients').catch(() => {});
}

// Reconnects per second over [t0, t1]: returns { counts, share, max }.
function histogram(times, t0, t1) {
  const secs = Math.max(1, Math.ceil((t1 - t0) / 1000));
  const counts = new Array(secs).fill(0);
  for (const t of times) counts[Math.min(secs - 1, Math.max(0, Math.floor((t - t0) / 1000)))]++;
  const share = times.length / secs;
  return { counts, share, max: Math.max(...counts) };
}

function printHistogram(title, h) {
  const lines = h.counts.map((n, s) => `  ${String(s).padStart(3)}s ${String(n).padStart(4)} ${'#'.repeat(Math.round(n / 4))}`);
  console.log(`# ${title} (share per second ${h.share.toFixed(1)}, max ${h.max})\n${lines.join('\n').replace(/^/gm, '# ')}`);
}

async function edgeHealth(cluster) {
  const res = await fetch(`${cluster.brokerUrl}/healthz`);
  return res.json();
}

module.exports = {
  ringcast, statusJson, until, pidOf, connectClients, disconnectAll, startProducer, assertOrdered, missing,
  waitDelivered, histogram, printHistogram, edgeHealth, waitFor, sleep,
};
