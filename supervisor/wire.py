"""The control socket's framing, on both ends: one JSON object per line."""
import json


def send_msg(sock, obj):
    sock.sendall((json.dumps(obj) + "\n").encode())


def recv_msg(sock, chunk=65536, empty=None):
    """Reads up to the newline (or EOF) and parses it; `empty` stands for
    nothing received. Raises OSError or ValueError."""
    data = b""
    while not data.endswith(b"\n"):
        part = sock.recv(chunk)
        if not part:
            break
        data += part
    return json.loads(data or empty)
