// The bystanders of a hostile-client test: official phoenix clients on one
// edge receiving a 10/s broadcast, measured in phases. Each test measures a
// baseline phase, starts its attack, measures again, and checks that the
// attack cost the bystanders nothing: every event of both phases reached
// every client, no client was disconnected, and the attacked p99 latency is
// under twice the baseline's (with a floor, since a loopback baseline of a
// millisecond or two is below what a shared 2-core machine can promise).
'use strict';
const assert = require('node:assert/strict');
const { Socket } = require('phoenix');
const WebSocket = require('ws');
const { publish, waitFor, sleep } = require('./cluster');

const TOPIC = 'room:bystanders';
const PERIOD_MS = 100;
const P99_FLOOR_MS = 10;

function p99(xs) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)];
}

async function startBystanders(cluster, { n = 20 } = {}) {
  const clients = [];
  for (let i = 0; i < n; i++) {
    const socket = new Socket(cluster.socketUrl, { transport: WebSocket, reconnectAfterMs: () => 600000 });
    const c = { socket, got: new Map(), closes: [] };
    socket.onClose((e) => c.closes.push(e.code));
    socket.connect();
    const ch = socket.channel(TOPIC, {});
    ch.on('tick', (p) => { if (!c.got.has(p.k)) c.got.set(p.k, Date.now() - p.ts); });
    await new Promise((resolve, reject) => {
      ch.join().receive('ok', resolve).receive('error', (e) => reject(new Error(`join: ${JSON.stringify(e)}`)))
        .receive('timeout', () => reject(new Error('join timed out')));
    });
    clients.push(c);
  }
  let k = 0;
  let failures = 0;
  let current = null;
  let running = true;
  // The broadcast: one event per period, its send time in the payload.
  const ticker = (async () => {
    while (running) {
      const next = Date.now() + PERIOD_MS;
      const key = ++k;
      const r = await publish(cluster, { topic: TOPIC, event: 'tick', data: { k: key, ts: Date.now() } })
        .catch(() => ({ status: 0 }));
      if (r.status === 200) { if (current) current.push(key); } else failures++;
      await sleep(Math.max(0, next - Date.now()));
    }
  })();

  const b = {
    clients,
    // Runs the broadcast for ms and returns that phase's events.
    async phase(ms) {
      const keys = [];
      current = keys;
      await sleep(ms);
      current = null;
      // The last events of the phase get a moment to arrive.
      await waitFor(() => clients.every((c) => keys.every((x) => c.got.has(x))), 3000,
        'every bystander to get the phase\'s events').catch(() => {});
      const lat = [];
      let lost = 0;
      for (const c of clients) {
        for (const x of keys) {
          if (c.got.has(x)) lat.push(c.got.get(x)); else lost++;
        }
      }
      return { events: keys.length, lost, p99: p99(lat), samples: lat.length };
    },
    // The checks every hostile test makes on its bystanders.
    // floorMs: the p99 floor for this check (P99_FLOOR_MS unless a test
    // whose failure is far larger needs more room on a loaded machine).
    check(base, attacked, what, { floorMs = P99_FLOOR_MS } = {}) {
      const detail = `${what}: baseline ${JSON.stringify(base)}, attacked ${JSON.stringify(attacked)}`;
      assert.equal(failures, 0, `publishes failed (${detail})`);
      assert.ok(base.events >= 5 && attacked.events >= 5, `too few events to measure (${detail})`);
      assert.equal(base.lost, 0, `bystanders lost events before the attack (${detail})`);
      assert.equal(attacked.lost, 0, `bystanders lost events during the attack (${detail})`);
      for (const c of clients) assert.deepEqual(c.closes, [], `a bystander was disconnected (${detail})`);
      const limit = 2 * Math.max(base.p99, floorMs);
      assert.ok(attacked.p99 < limit, `bystanders' p99 ${attacked.p99} ms >= ${limit} ms (${detail})`);
    },
    async stop() {
      running = false;
      await ticker;
      for (const c of clients) c.socket.disconnect();
    },
  };
  return b;
}

module.exports = { startBystanders, TOPIC };
