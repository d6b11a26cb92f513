// Topic names that all collide under the low 32 bits of unkeyed FNV-1a 64,
// the hash ringcast's topic tables used before they were keyed: what a hash
// flooder would send. Low 32 bits of FNV-1a 64 evolve as
// l = (l ^ byte) * 0x1b3 mod 2^32 (the prime's 2^40 term never reaches
// them), so a pair of 8-byte blocks that collide from the same state can be
// found by a birthday search; a name is one choice from each of k pairs,
// 2^k names with one hash.
'use strict';
const crypto = require('node:crypto');

const ALPHA = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_';

function step(l, s) {
  for (let i = 0; i < s.length; i++) l = Math.imul((l ^ s.charCodeAt(i)) >>> 0, 0x1b3) >>> 0;
  return l;
}

function fnvLow32(s) { return step(0x84222325, s); }

// Random 8-character blocks until two reach the same state (a birthday
// search: ~2^16 tries for 32 bits).
function pairFrom(state) {
  const seen = new Map();
  for (;;) {
    const buf = crypto.randomBytes(8 * 65536);
    for (let n = 0; n < 65536; n++) {
      let s = '';
      for (let i = 0; i < 8; i++) s += ALPHA[buf[n * 8 + i] & 63];
      const h = step(state, s);
      const o = seen.get(h);
      if (o !== undefined && o !== s) return [o, s, h];
      seen.set(h, s);
    }
  }
}

// count names (a power of two) starting with prefix, all with one FNV low-32 hash.
function collidingNames(prefix, count) {
  const k = Math.log2(count);
  if (!Number.isInteger(k)) throw new Error('count must be a power of two');
  let state = step(0x84222325, prefix);
  const pairs = [];
  for (let i = 0; i < k; i++) {
    const [a, b, next] = pairFrom(state);
    pairs.push([a, b]);
    state = next;
  }
  const names = [];
  for (let m = 0; m < count; m++) {
    let s = prefix;
    for (let i = 0; i < k; i++) s += pairs[i][(m >> i) & 1];
    names.push(s);
  }
  return names;
}

module.exports = { collidingNames, fnvLow32 };
