// A minimal raw WebSocket client for tests that need byte-level control:
// it sends exactly the bytes a test asks for and parses server frames.
'use strict';
const net = require('node:net');
const crypto = require('node:crypto');

function handshake(path = '/socket/websocket?vsn=2.0.0', extraHeaders = '') {
  const key = crypto.randomBytes(16).toString('base64');
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n${extraHeaders}\r\n`;
}

// Masked client frame.
function frame(opcode, payload, { fin = true, mask = true } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = data.length;
  const head = [((fin ? 0x80 : 0) | opcode)];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 255);
  else { head.push(m | 127, 0, 0, 0, 0, (len >>> 24) & 255, (len >> 16) & 255, (len >> 8) & 255, len & 255); }
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = crypto.randomBytes(4);
  const body = Buffer.from(data);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(head), key, body]);
}

class RawClient {
  // opts.localAddress: the loopback address to connect from (127.0.0.x).
  constructor(port, opts = {}) {
    this.port = port;
    this.localAddress = opts.localAddress;
    this.buf = Buffer.alloc(0);
    this.http = null;
    this.frames = [];
    this.closed = false;
    this.waiters = [];
  }

  connect(request = handshake()) {
    return new Promise((resolve, reject) => {
      const where = { port: this.port, host: '127.0.0.1', ...(this.localAddress ? { localAddress: this.localAddress } : {}) };
      this.sock = net.connect(where, () => { if (request) this.sock.write(request); resolve(this); });
      this.sock.on('error', (e) => { if (!this.closed) reject(e); });
      this.sock.on('data', (d) => this.onData(d));
      this.sock.on('close', () => { this.closed = true; this.poke(); });
    });
  }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    if (this.http === null) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.http = this.buf.subarray(0, end + 4).toString();
      this.buf = this.buf.subarray(end + 4);
    }
    for (;;) {
      if (this.buf.length < 2) break;
      const b0 = this.buf[0], b1 = this.buf[1];
      let len = b1 & 127, off = 2;
      if (b1 & 0x80) throw new Error('server frame is masked');
      if (len === 126) { if (this.buf.length < 4) break; len = this.buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (this.buf.length < 10) break; len = Number(this.buf.readBigUInt64BE(2)); off = 10; }
      if (this.buf.length < off + len) break;
      const payload = this.buf.subarray(off, off + len);
      const f = { fin: !!(b0 & 0x80), opcode: b0 & 15, payload };
      if (f.opcode === 8) f.code = len >= 2 ? payload.readUInt16BE(0) : 1005;
      if (f.opcode === 1) f.json = JSON.parse(payload.toString());
      this.frames.push(f);
      this.buf = this.buf.subarray(off + len);
    }
    this.poke();
  }

  poke() { for (const w of this.waiters.splice(0)) w(); }

  send(bytes) { this.sock.write(bytes); }
  sendText(obj) { this.send(frame(1, typeof obj === 'string' ? obj : JSON.stringify(obj))); }

  // Resolves when pred(this) holds, rejects after ms.
  until(pred, ms = 3000, what = 'condition') {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.map((f) => f.json || f.code || f.opcode))} http: ${this.http}`)), ms);
      const check = () => {
        let ok = false;
        try { ok = pred(this); } catch (e) { clearTimeout(t); reject(e); return; }
        if (ok) { clearTimeout(t); resolve(this); } else this.waiters.push(check);
      };
      check();
    });
  }

  closeFrame() { return this.frames.find((f) => f.opcode === 8); }
  destroy() { this.sock.destroy(); }
}

module.exports = { RawClient, frame, handshake };
