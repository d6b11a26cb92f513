// A small msgpack encoder for the tests (no dependency): nil, bool, ints,
// float64, str, bin (Buffer), arrays, maps (plain objects), and raw bytes
// (Raw) for hand-made malformed input.
'use strict';

class Raw { constructor(bytes) { this.bytes = Buffer.from(bytes); } }

function encode(v) {
  const out = [];
  const push = (...b) => out.push(Buffer.from(b));
  const be = (n, w) => { const b = Buffer.alloc(w); b.writeUIntBE(n, 0, w); return b; };
  (function enc(x) {
    if (x instanceof Raw) out.push(x.bytes);
    else if (x === null || x === undefined) push(0xc0);
    else if (x === true) push(0xc3);
    else if (x === false) push(0xc2);
    else if (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < 2 ** 32) {
      if (x < 128) push(x); else if (x < 256) push(0xcc, x); else if (x < 65536) { push(0xcd); out.push(be(x, 2)); } else { push(0xce); out.push(be(x, 4)); }
    } else if (typeof x === 'number' && Number.isInteger(x) && x < 0 && x >= -(2 ** 31)) {
      if (x >= -32) push(x & 0xff); else { const b = Buffer.alloc(5); b[0] = 0xd2; b.writeInt32BE(x, 1); out.push(b); }
    } else if (typeof x === 'number') { const b = Buffer.alloc(9); b[0] = 0xcb; b.writeDoubleBE(x, 1); out.push(b); }
    else if (typeof x === 'string') {
      const s = Buffer.from(x);
      if (s.length < 32) push(0xa0 | s.length); else if (s.length < 256) push(0xd9, s.length); else if (s.length < 65536) { push(0xda); out.push(be(s.length, 2)); } else { push(0xdb); out.push(be(s.length, 4)); }
      out.push(s);
    } else if (Buffer.isBuffer(x)) {
      if (x.length < 256) push(0xc4, x.length); else { push(0xc6); out.push(be(x.length, 4)); }
      out.push(x);
    } else if (Array.isArray(x)) {
      if (x.length < 16) push(0x90 | x.length); else if (x.length < 65536) { push(0xdc); out.push(be(x.length, 2)); } else { push(0xdd); out.push(be(x.length, 4)); }
      x.forEach(enc);
    } else {
      const keys = Object.keys(x);
      if (keys.length < 16) push(0x80 | keys.length); else { push(0xde); out.push(be(keys.length, 2)); }
      for (const k of keys) { enc(k); enc(x[k]); }
    }
  })(v);
  return Buffer.concat(out);
}

module.exports = { encode, Raw };
