// The metric table of docs/operations.md is what the broker exports: every
// family of GET /metrics has a row, every row is exported, and the type
// column equals the family's `# TYPE`. A real cluster with one edge, one
// client joined and one event delivered, so the per-edge series exist.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Socket } = require('phoenix');
const WebSocket = require('ws');
const { startCluster, publish, waitFor, ROOT } = require('./lib/cluster');

// name -> type of the rows between the metrics markers.
function documented() {
  const file = path.join(ROOT, 'docs', 'operations.md');
  const text = fs.readFileSync(file, 'utf8');
  const m = text.match(/<!-- metrics:begin -->\n([\s\S]*?)<!-- metrics:end -->/);
  assert.ok(m, `${file}: no table between <!-- metrics:begin --> and <!-- metrics:end -->`);
  const rows = new Map();
  for (const line of m[1].split('\n')) {
    const r = line.match(/^\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|\s*([^|]*?)\s*\|/);
    if (!r) continue;
    assert.ok(!rows.has(r[1]), `docs/operations.md lists ${r[1]} twice`);
    rows.set(r[1], r[2]);
  }
  assert.ok(rows.size > 0, 'docs/operations.md: the metric table has no rows');
  return rows;
}

// name -> type of the `# TYPE name type` lines.
function exported(text) {
  const families = new Map();
  for (const line of text.split('\n')) {
    const t = line.match(/^# TYPE (\S+) (\S+)$/);
    if (t) families.set(t[1], t[2]);
  }
  return families;
}

test('the metric table of docs/operations.md matches GET /metrics', async (t) => {
  const cluster = await startCluster({ edges: 1 });
  const socket = new Socket(cluster.socketUrl, { transport: WebSocket, reconnectAfterMs: () => 60000 });
  t.after(() => { socket.disconnect(); cluster.stopAndCheck(); });
  socket.connect();
  const got = [];
  const channel = socket.channel('docs:metrics', {});
  channel.on('e', (payload, ref) => got.push({ payload, ref }));
  await new Promise((resolve, reject) => {
    channel.join().receive('ok', resolve).receive('error', reject)
      .receive('timeout', () => reject(new Error('join timeout')));
  });
  const r = await publish(cluster, { topic: 'docs:metrics', event: 'e', data: { n: 1 } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  await waitFor(() => got.length === 1, 5000, 'the event to reach the client');

  const res = await fetch(`${cluster.brokerUrl}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const live = exported(text);
  assert.ok(live.size > 0, `no # TYPE lines in /metrics:\n${text}`);
  assert.ok(text.includes('ringcast_edge_connections{edge="'), `no per-edge series in /metrics:\n${text}`);
  const doc = documented();

  const problems = [];
  for (const [name, type] of live) {
    if (!doc.has(name)) problems.push(`exported but not in docs/operations.md: ${name} (${type})`);
    else if (doc.get(name) !== type) problems.push(`${name}: docs say type '${doc.get(name)}', /metrics says '${type}'`);
  }
  for (const name of doc.keys()) {
    if (!live.has(name)) problems.push(`in docs/operations.md but not exported: ${name}`);
  }
  assert.deepEqual(problems, [], `metric table out of sync with /metrics:\n  ${problems.join('\n  ')}`);
  console.log(`# docs: ${doc.size} metric families in sync with /metrics`);
});
