// edge_memory_max: many connections, each within its own limits, together
// past the edge's budget. The edge closes the ones holding the most first:
// 1008 for parked input (partial frames), 4008 for queued output (a client
// that floods pings and never reads their pongs); counted, and bystanders
// do not notice.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startCluster, metric, waitFor, sleep } = require('./lib/cluster');
const { startBystanders } = require('./lib/bystanders');
const { RawClient, frame } = require('./lib/rawws');

const MB = 1024 * 1024;
const CLOSE_4008 = Buffer.from([0x88, 0x02, 0x0f, 0xa8]);

async function upgraded(port) {
  const c = await new RawClient(port, { localAddress: '127.0.0.2' }).connect();
  await c.until((x) => x.http !== null, 3000, '101');
  return c;
}

test('edge_memory_max: partial frames parked by many clients: the largest are closed with 1008', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--edge_memory_max', '8M', '--max_message', '2M'] });
  const by = await startBystanders(cluster);
  const held = [];
  t.after(async () => { for (const c of held) c.destroy(); await by.stop(); cluster.stopAndCheck(); });
  const base = await by.phase(1500);

  // Nine clients park 300 KB of a frame each (a 512 KiB buffer apiece),
  // then three park 1.5 MB (2 MiB apiece), all within max_message: 10.5 MiB
  // together against a budget of 8 MiB. The three large ones hold the most.
  const park = async (n, size) => {
    for (let i = 0; i < n; i++) {
      const c = await upgraded(cluster.edgePort);
      c.size = size;
      held.push(c);
      c.send(frame(2, Buffer.alloc(2 * MB, 0x61)).subarray(0, size));
    }
  };
  await park(9, 300 * 1024);
  await sleep(500);
  assert.equal(await metric(cluster, 'ringcast_edge_kicks_memory_total'), 0, 'under the budget, nobody is closed');
  await park(3, 1.5 * MB);
  await waitFor(() => held.filter((c) => c.closeFrame()).length >= 2, 8000, 'closes for the memory budget');
  await sleep(500);
  const closed = held.filter((c) => c.closeFrame());
  for (const c of closed) assert.equal(c.closeFrame().code, 1008);
  const kicked = await metric(cluster, 'ringcast_edge_kicks_memory_total');
  assert.equal(kicked, closed.length);
  // The largest went first, and only as many as it took to get under 90%.
  assert.deepEqual(closed.map((c) => c.size), [1.5 * MB, 1.5 * MB]);
  const mem = await metric(cluster, 'ringcast_edge_memory_bytes');
  assert.ok(mem <= 8 * MB * 0.9, `edge memory ${mem} over 90% of the budget`);
  const attacked = await by.phase(1500);
  by.check(base, attacked, 'edge_memory_max (input)');
});

test('edge_memory_max: pongs queued for clients that never read: closed with 4008; the per-item overhead counts', async (t) => {
  const cluster = await startCluster({ edges: 1, extra: ['--edge_memory_max', '16M', '--out_queue_max', '256M', '--client_msg_rate', '0'] });
  const by = await startBystanders(cluster);
  const held = [];
  t.after(async () => { for (const c of held) c.destroy(); await by.stop(); cluster.stopAndCheck(); });
  const base = await by.phase(1500);

  // Empty pings: 6 bytes each in, a 2-byte pong out, but every pong is an
  // item and a heap block in the edge. Four clients stop reading and send
  // 400,000 each.
  const ping = frame(9, Buffer.alloc(0));
  for (let i = 0; i < 4; i++) {
    const c = await upgraded(cluster.edgePort);
    held.push(c);
    // Millions of pongs: look only for the close frame in the raw bytes.
    c.sock.removeAllListeners('data');
    c.tail = Buffer.alloc(0);
    c.sock.on('data', (d) => {
      const b = Buffer.concat([c.tail, d]);
      if (b.includes(CLOSE_4008)) c.got4008 = true;
      c.tail = b.subarray(-3);
    });
    c.sock.pause();
    c.send(Buffer.concat(Array.from({ length: 400000 }, () => ping)));
  }
  // The edge's memory, sampled while the pongs pile up: every client is
  // over the budget on its own (400,000 queued pongs hold ~26 MB), so each
  // is closed in turn, and the total never passes the budget by more than
  // one read's worth.
  const t0 = Date.now();
  let kicked = 0, peak = 0;
  while (Date.now() - t0 < 20000 && kicked < 4) {
    peak = Math.max(peak, await metric(cluster, 'ringcast_edge_memory_bytes'));
    kicked = await metric(cluster, 'ringcast_edge_kicks_memory_total');
    await sleep(50);
  }
  assert.equal(kicked, 4, 'every flooding client was closed for the memory budget');
  assert.ok(peak > 4 * MB && peak <= 17 * MB, `edge memory peaked at ${peak}`);
  // Reading again (within the closing grace), a closed client finds 4008
  // after the pongs the kernel held.
  for (const c of held) c.sock.resume();
  await waitFor(() => held.every((c) => c.got4008), 5000, 'the kicked clients to read their 4008');
  const attacked = await by.phase(1500);
  by.check(base, attacked, 'edge_memory_max (output)');
});
