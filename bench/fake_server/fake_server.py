#!/usr/bin/env python3
"""A tiny WebSocket server (python3 stdlib only) for testing the loadgen.

It speaks just enough RFC 6455 and Phoenix Channels V2: it checks the
upgrade request and answers 101 with Sec-WebSocket-Accept, reads masked
client frames, replies ok to phx_join and to heartbeats, answers nothing
else. Once a connection has joined (phoenix) or right after the handshake
(raw: any path not ending in /websocket), it sends that connection events
n = 1..--events whose data carries {"ts": <unix ns>, "n": <n>}, and unless
--clean it injects faults into every connection's stream:

    dropped     n = 10 and 11 never sent                 -> missing 2
    duplicated  n = 20 sent twice                        -> duplicated 1
    reordered   n = 31 sent before n = 30                -> out_of_order 1

It also sends a ping before the first event (the client must answer with a
pong) and sends event 50 as two fragments. --close-after S closes each
connection with --close-code that many seconds after its last event.

Prints "listening 127.0.0.1:PORT per-connection {<injected counts>}" on
stdout once bound (--port 0 picks a free port) and one line per finished connection on stderr:
"conn=K joined=J pongs=P heartbeats=H client_close=C".
"""
import argparse
import asyncio
import base64
import hashlib
import json
import struct
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
INJECTED = {"missing": 2, "duplicated": 1, "out_of_order": 1}


def plan(events, clean):
    """The order in which one connection's events are sent."""
    order = list(range(1, events + 1))
    if clean:
        return order
    order = [n for n in order if n not in (10, 11)]
    i = order.index(20)
    order.insert(i + 1, 20)
    i, j = order.index(30), order.index(31)
    order[i], order[j] = order[j], order[i]
    return order


def frame(opcode, payload, fin=True):
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        head = struct.pack("!BB", b0, n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, 126, n)
    else:
        head = struct.pack("!BBQ", b0, 127, n)
    return head + payload


class ProtocolError(Exception):
    pass


async def read_frame(reader):
    b0, b1 = await reader.readexactly(2)
    opcode, n = b0 & 0x0F, b1 & 0x7F
    if not b1 & 0x80:
        raise ProtocolError("unmasked client frame")
    if n == 126:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", await reader.readexactly(8))
    mask = await reader.readexactly(4)
    data = bytearray(await reader.readexactly(n))
    for i in range(n):
        data[i] ^= mask[i & 3]
    return b0 >> 7, opcode, bytes(data)


async def handshake(reader, writer):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    key = headers.get("sec-websocket-key", "")
    ok = (method == "GET" and headers.get("upgrade", "").lower() == "websocket"
          and "upgrade" in headers.get("connection", "").lower()
          and headers.get("sec-websocket-version") == "13" and len(base64.b64decode(key)) == 16)
    if not ok:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        return None
    accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())
    await writer.drain()
    return path


class Server:
    def __init__(self, args):
        self.args = args
        self.nconn = 0

    def event(self, topic, seq, n):
        data = {"ts": time.time_ns(), "n": n}
        if topic is None:  # raw: the data itself, as nchan delivers it
            return json.dumps(data).encode()
        return json.dumps([None, "@%d" % seq, topic, "b", data]).encode()

    async def send_events(self, writer, topic, state):
        writer.write(frame(0x9, b"are you there"))
        for seq, n in enumerate(plan(self.args.events, self.args.clean), 1):
            msg = self.event(topic, seq, n)
            if n == 50:
                writer.write(frame(0x1, msg[:7], fin=False) + frame(0x0, msg[7:]))
            else:
                writer.write(frame(0x1, msg))
            if seq % 10 == 0:
                await writer.drain()
                await asyncio.sleep(0.002)
        await writer.drain()
        if self.args.close_after >= 0:
            await asyncio.sleep(self.args.close_after)
            writer.write(frame(0x8, struct.pack("!H", self.args.close_code)))
            await writer.drain()
            state["closed"] = True

    async def handle(self, reader, writer):
        self.nconn += 1
        state = {"conn": self.nconn, "joined": 0, "pongs": 0, "heartbeats": 0, "client_close": None}
        sender = None
        try:
            path = await handshake(reader, writer)
            if path is None:
                return
            phoenix = path.split("?")[0].endswith("/websocket")
            if phoenix and "vsn=2.0.0" not in path:
                raise ProtocolError("no vsn=2.0.0 in %s" % path)
            if not phoenix:
                sender = asyncio.ensure_future(self.send_events(writer, None, state))
            while True:
                fin, opcode, data = await read_frame(reader)
                if opcode == 0x8:
                    state["client_close"] = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                    if not state.get("closed"):
                        writer.write(frame(0x8, data[:2]))
                    break
                if opcode == 0xA:
                    state["pongs"] += 1
                    continue
                if opcode != 0x1 or not fin:
                    raise ProtocolError("unexpected opcode %d" % opcode)
                jr, ref, topic, event, _payload = json.loads(data)
                if topic == "phoenix" and event == "heartbeat":
                    state["heartbeats"] += 1
                    reply = [None, ref, "phoenix", "phx_reply", {"status": "ok", "response": {}}]
                elif event == "phx_join":
                    state["joined"] += 1
                    reply = [jr, ref, topic, "phx_reply", {"status": "ok", "response": {}}]
                else:
                    reply = [None, ref, topic, "phx_reply",
                             {"status": "error", "response": {"reason": "unmatched topic"}}]
                writer.write(frame(0x1, json.dumps(reply).encode()))
                if event == "phx_join" and sender is None:
                    sender = asyncio.ensure_future(self.send_events(writer, topic, state))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except (ProtocolError, ValueError) as e:
            print("conn=%d protocol error: %s" % (state["conn"], e), file=sys.stderr, flush=True)
            writer.write(frame(0x8, struct.pack("!H", 1002)))
        finally:
            if sender:
                sender.cancel()
            print("conn=%(conn)d joined=%(joined)d pongs=%(pongs)d heartbeats=%(heartbeats)d "
                  "client_close=%(client_close)s" % state, file=sys.stderr, flush=True)
            writer.close()


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--events", type=int, default=100)
    ap.add_argument("--clean", action="store_true", help="no injected faults")
    ap.add_argument("--close-after", type=float, default=-1, help="seconds after the last event; -1 never")
    ap.add_argument("--close-code", type=int, default=1001)
    args = ap.parse_args()
    if args.events < 40 and not args.clean:
        ap.error("fault injection needs --events >= 40")
    srv = Server(args)
    server = await asyncio.start_server(srv.handle, args.host, args.port, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    injected = {k: 0 if args.clean else v for k, v in INJECTED.items()}
    print("listening %s:%d per-connection %s" % (args.host, port, json.dumps(injected, sort_keys=True)),
          flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
