"""ringcast: the supervisor of a ringcast cluster (broker + edges).

  ./ringcast start [--instance NAME] [--edges N] [--config FILE] [--foreground] [--<key> <value> ...]
  ./ringcast stop [--instance NAME] [--now]
  ./ringcast status [--instance NAME] [--json]
  ./ringcast scale N [--instance NAME] [--no-wait]
  ./ringcast restart-edges [--instance NAME] [--no-wait]
  ./ringcast prep --edges N --for DURATION [--instance NAME]     (DURATION: 90, 20s, 5m, 1h)
  ./ringcast logs [--instance NAME]

`start` runs the supervisor as a daemon (with --foreground: in this terminal,
Ctrl-C stops the cluster, a second Ctrl-C without waiting for the drain). The
supervisor owns the broker and the edges: it restarts a process that dies
(exponential backoff with jitter), stops restarting one that dies too often
(crash loop: `restart_limit` restarts within `restart_window_ms`), and runs
the other commands, which reach it over a Unix socket in the run directory
($XDG_RUNTIME_DIR/ringcast-<instance> when XDG_RUNTIME_DIR is a directory of
ours, else /tmp/ringcast-<instance>, unless --run_dir says otherwise; mode
0700, refused if it is a symlink, another user's or of another mode). There
too: one log per process, pid files, the supervisor's log, and the keys file
through which the broker gets the API keys (never on a command line).

Keys other than --instance, --edges, --foreground go to the broker and every
edge unchanged (see the README's option table); the supervisor reads its own
(restart_*) and the ports from the same flags and --config file.
RINGCAST_BIN selects the binaries (default: build/bin next to the ringcast script).

Why Python: the supervisor is a small event loop (children, timers, a control
socket) with per-process state; the standard library gives waitpid with exit
statuses, posix_spawn, select and JSON, which bash cannot do readably.
"""
import os
import signal
import sys
import time

from .client import drain_timeout, edges_settled, load_start_args, need_supervisor, request, wait_settled
from .daemon import Supervisor
from .options import BIN, Args, die, edge_count, option_defaults, parse_duration
from .procs import pid_alive
from .rundir import check_run_dir, make_run_dir
from .secrets import KEYS_FILE, hide_keys_in_cmdline, keys_to_file, remove_keys_file, warn_flag
from .status import broker_health, fmt_s, show


def cmd_start(args):
    for exe in ("broker", "edge"):
        if not os.access(os.path.join(BIN, exe), os.X_OK):
            die(f"binaries not found in {BIN} (run make)")
    defaults = option_defaults()
    keys = args.opt("api_keys", defaults)
    if keys and args.opt("api_keys_file", defaults):
        die("give api_keys or api_keys_file, not both", 2)
    make_run_dir(args.run_dir)
    if request(args.run_dir, {"cmd": "status"}) is not None:
        die(f"instance '{args.instance}' is already running (supervisor in {args.run_dir})")
    pid_file = os.path.join(args.run_dir, "broker.pid")
    if os.path.exists(pid_file) and pid_alive(int(open(pid_file).read() or 0)):
        die(f"instance '{args.instance}' has a broker running without a supervisor; ./ringcast stop first")
    edges = args.edges or os.cpu_count() or 2
    for f in os.listdir(args.run_dir):
        if f.endswith(".log") or f.endswith(".pid") or f == KEYS_FILE:
            os.unlink(os.path.join(args.run_dir, f))
    if keys:
        args.passed = keys_to_file(args, keys)
    with open(os.path.join(args.run_dir, "start.args"), "w") as f:
        f.write("".join(a + "\n" for a in args.passed))
    sup = Supervisor(args, defaults, edges, args.foreground)
    if args.foreground:
        sup.run()
        sys.exit(1 if sup.start_error else 0)
    msg = sup.run_detached()
    if not msg.startswith("ok\n"):
        for f in sorted(os.listdir(args.run_dir)):
            if f.endswith(".log"):
                print(f"--- {f}", file=sys.stderr)
                print(open(os.path.join(args.run_dir, f)).read()[-2000:], file=sys.stderr)
        die(msg[6:] if msg.startswith("error ") else "the supervisor died while starting")
    print(msg[3:])


def stop_without_supervisor(args):
    """Pid files only (an instance whose supervisor was killed): edges, then the broker."""
    def pids(names):
        out = []
        for f in names:
            try:
                p = int(open(os.path.join(args.run_dir, f)).read())
            except (OSError, ValueError):
                continue
            if pid_alive(p):
                out.append(p)
        return out

    files = os.listdir(args.run_dir) if os.path.isdir(args.run_dir) else []
    for group in ([f for f in files if f.startswith("edge.") and f.endswith(".pid")], ["broker.pid"]):
        live = pids(group)
        for p in live:
            os.kill(p, signal.SIGTERM)
            if args.now:
                os.kill(p, signal.SIGINT)
        t0 = time.monotonic()
        while live and time.monotonic() - t0 < 30:
            time.sleep(0.05)
            live = [p for p in live if pid_alive(p)]
        for p in live:
            os.kill(p, signal.SIGKILL)
    for f in files:
        if f.endswith(".pid"):
            os.unlink(os.path.join(args.run_dir, f))
    remove_keys_file(args.run_dir)
    try:
        os.unlink(f"/dev/shm/ringcast-{args.instance}")
    except FileNotFoundError:
        pass


def cmd_stop(args):
    reply = request(args.run_dir, {"cmd": "stop"})
    if reply is None:
        stop_without_supervisor(args)
        return
    if args.now:
        request(args.run_dir, {"cmd": "stop"})  # the second stop skips the drain
    pid = reply["pid"]
    while pid_alive(pid):
        time.sleep(0.05)


def cmd_status(args):
    st = request(args.run_dir, {"cmd": "status"})
    if st is None:
        print(f"instance '{args.instance}' is not running (no supervisor in {args.run_dir})")
        sys.exit(1)
    sys.exit(show(st, broker_health(st["broker_url"]), args.json))


def cmd_scale(args):
    n = edge_count(args.count, "scale N")
    need_supervisor(args, {"cmd": "scale", "edges": n})
    if not args.no_wait:
        wait_settled(args, f"scale {n}", drain_timeout(load_start_args(args)), edges_settled(n))
    print(f"{n} edge(s) running")


def cmd_prep(args):
    if args.edges is None or args.duration is None:
        die("usage: ringcast prep --edges N --for DURATION", 2)
    secs = parse_duration(args.duration)
    r = need_supervisor(args, {"cmd": "prep", "edges": args.edges, "for_s": secs})
    wait_settled(args, "prep", drain_timeout(load_start_args(args)), edges_settled(args.edges))
    print(f"{args.edges} edge(s) running; back to {r['back_to']} in {fmt_s(secs)} "
          f"(at {time.strftime('%H:%M:%S', time.localtime(time.time() + secs))})")


def cmd_restart_edges(args):
    r = need_supervisor(args, {"cmd": "restart-edges"})
    if not args.no_wait:
        st = wait_settled(args, "restart-edges", len(r["edges"]) * drain_timeout(load_start_args(args)),
                          lambda st: not st["rolling"])
        bad = [p["name"] for p in st["processes"] if p["kind"] == "edge" and p["state"] != "running"]
        if bad:
            die(f"rolling restart ended with {', '.join(bad)} not running; see ./ringcast status")
    print(f"restarted {len(r['edges'])} edge(s), one at a time")


def cmd_logs(args):
    files = sorted(f for f in os.listdir(args.run_dir) if f.endswith(".log")) if os.path.isdir(args.run_dir) else []
    if not files:
        die(f"no logs in {args.run_dir}")
    os.execvp("tail", ["tail", "-n", "50"] + [os.path.join(args.run_dir, f) for f in files])


def keep_inherited_fds_from_children():
    """Descriptors the caller left open (a shell's, a test runner's) are
    inherited by posix_spawn unless close-on-exec: the broker and edges
    would hold them for life. Python opens its own descriptors
    close-on-exec, so marking the inherited ones is enough."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass  # the directory's own descriptor, already closed


def main():
    keep_inherited_fds_from_children()
    cmds = {"start": cmd_start, "stop": cmd_stop, "status": cmd_status, "scale": cmd_scale, "prep": cmd_prep,
            "restart-edges": cmd_restart_edges, "logs": cmd_logs}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    if hide_keys_in_cmdline() and sys.argv[1] == "start":
        warn_flag()
    args = Args(sys.argv[1], sys.argv[2:])
    check_run_dir(args.run_dir)
    cmds[args.cmd](args)
