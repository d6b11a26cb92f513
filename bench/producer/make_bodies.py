#!/usr/bin/env python3
"""Writes the request bodies of the producer benchmark into a directory:
single.json (one event, 64-byte data) and batch100.msgpack (an array of 100
such events as msgpack maps). msgpack is written by hand (stdlib only)."""
import json
import os
import sys

out = sys.argv[1]
data = {"body": "x" * 40, "n": 1}


def mp_str(s):
    b = s.encode()
    if len(b) < 32:
        return bytes([0xA0 | len(b)]) + b
    assert len(b) < 256
    return bytes([0xD9, len(b)]) + b


def mp_event(i):
    # {"topic": "room:<i%10>", "event": "msg", "data": {"body": "...", "n": i}}
    d = bytes([0x82]) + mp_str("body") + mp_str(data["body"]) + mp_str("n") + bytes([0xCD, (i >> 8) & 0xFF, i & 0xFF])
    return bytes([0x83]) + mp_str("topic") + mp_str("room:%d" % (i % 10)) + mp_str("event") + mp_str("msg") + mp_str("data") + d


with open(os.path.join(out, "single.json"), "w") as f:
    json.dump({"topic": "room:1", "event": "msg", "data": data}, f, separators=(",", ":"))
with open(os.path.join(out, "batch100.msgpack"), "wb") as f:
    f.write(bytes([0xDC, 0, 100]) + b"".join(mp_event(i) for i in range(100)))
