"""The commands' side of the control socket: requests to the running
supervisor, waiting for it to settle, the flags it was started with."""
import os
import socket
import time

from .options import Args, die, option_defaults, to_int
from .wire import recv_msg, send_msg


def request(run_dir, req, quiet=False):
    """One request to the running supervisor; None if there is none."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(os.path.join(run_dir, "ctl.sock"))
        send_msg(s, req)
        return recv_msg(s)
    except (OSError, ValueError):
        return None
    finally:
        s.close()


def need_supervisor(args, req):
    reply = request(args.run_dir, req)
    if reply is None:
        die(f"no supervisor for instance '{args.instance}' (is it running? {args.run_dir})")
    if "error" in reply:
        die(reply["error"])
    return reply


def wait_settled(args, what, timeout, cond):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        st = request(args.run_dir, {"cmd": "status"})
        if st is None:
            die("the supervisor went away")
        if cond(st):
            return st
        time.sleep(0.1)
    die(f"{what} not done after {timeout:.0f}s; see ./ringcast status")


def edges_settled(n):
    def cond(st):
        edges = [p for p in st["processes"] if p["kind"] == "edge"]
        return (len(edges) == n and all(p["state"] in ("running", "failed") for p in edges)
                and not st["rolling"])
    return cond


def drain_timeout(args):
    d = Args("x", args.passed).opt("drain_ms", option_defaults())
    return to_int("drain_ms", d) / 1000 + 30


def load_start_args(args):
    """The flags the running instance was started with (ports, drain_ms)."""
    try:
        with open(os.path.join(args.run_dir, "start.args")) as f:
            passed = f.read().splitlines()
    except OSError:
        passed = []
    a = Args("x", passed)
    a.run_dir = args.run_dir
    return a
