"""The supervised processes: spawning, readiness, draining, reaping, and the
restart policy (exponential backoff with jitter, crash-loop limit)."""
import collections
import json
import os
import random
import re
import signal
import sys
import time

from .options import BIN, to_int

READY = {"broker": 'msg="producer API listening"', "edge": 'msg="edge listening"'}
BACKOFF_CAP_S = 30.0
# Jitter for restart delays: a per-process generator seeded from getrandom,
# never from a fixed seed or the pid, so that many supervisors restarting
# their processes at the same moment do not all pick the same delays.
RNG = random.Random(int.from_bytes(os.getrandom(32), "little"))


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


class Proc:
    """One supervised process: the broker or an edge (a name, one pid at a time)."""

    def __init__(self, kind, name):
        self.kind, self.name = kind, name
        self.pid = None
        self.state = "stopped"  # starting, running, backoff, failed, draining, stopped
        self.started = self.started_wall = None
        self.restarts = 0
        self.recent = collections.deque()  # monotonic times of restarts within the window
        self.consecutive = 0  # crashes in a row, for the backoff
        self.next_start = None  # when in backoff
        self.deadline = None  # readiness (starting) or drain (draining) deadline
        self.log_off = 0
        self.last_exit = ""
        self.pidfile = name + ".pid"

    def view(self, now):
        return {"name": self.name, "kind": self.kind, "state": self.state, "pid": self.pid,
                "uptime_s": round(now - self.started, 1) if self.pid and self.started else None,
                "restarts": self.restarts, "last_exit": self.last_exit,
                "restart_in_s": round(self.next_start - now, 2) if self.state == "backoff" else None}


class ProcessTable:
    """The broker and the edges, by name and by pid, and what happens when one
    exits. The daemon (supervisor.daemon.Supervisor) builds on it and moves
    `phase` and `stop_now` on."""

    def __init__(self, args, defaults, foreground):
        self.args, self.run_dir, self.foreground = args, args.run_dir, foreground
        self.defaults = defaults
        o = self.opt
        self.backoff_s = to_int("restart_backoff_ms", o("restart_backoff_ms")) / 1000
        self.limit = to_int("restart_limit", o("restart_limit"))
        self.window_s = to_int("restart_window_ms", o("restart_window_ms")) / 1000
        self.drain_s = to_int("drain_ms", o("drain_ms")) / 1000
        self.edge_ready_s = to_int("shm_wait_ms", o("shm_wait_ms")) / 1000 + 10
        self.broker = Proc("broker", "broker")
        self.edges = {}  # name -> Proc: the edges we keep running
        self.retiring = []  # edges draining away (scale down, rolling restart)
        self.by_pid = {}
        self.phase = "starting"  # starting, up, stopping
        self.stop_now = False

    def opt(self, key):
        """An option's value as the broker and the edges see it."""
        return self.args.opt(key, self.defaults)

    # -- logging: one key=value line per event, like the C processes
    def log(self, level, msg, **kv):
        t = time.time()
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"
        extra = "".join(f" {k}={json.dumps(v) if isinstance(v, str) and (' ' in v or not v) else v}"
                        for k, v in kv.items())
        line = f"ts={ts} level={level} proc=supervisor pid={os.getpid()} msg={json.dumps(msg)}{extra}\n"
        with open(os.open(os.path.join(self.run_dir, "supervisor.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                          0o600), "a") as f:
            f.write(line)
        if self.foreground and level in ("warn", "error"):
            sys.stderr.write(line)

    def path(self, name):
        return os.path.join(self.run_dir, name)

    # -- children
    def spawn(self, p):
        logname = self.path(p.name + ".log")
        p.log_off = os.path.getsize(logname) if os.path.exists(logname) else 0
        exe = os.path.join(BIN, p.kind)
        actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 1, logname, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600),
                   (os.POSIX_SPAWN_DUP2, 1, 2)]
        # Own session: a Ctrl-C in the foreground reaches the supervisor
        # only, which then drains the edges before stopping the broker.
        pid = os.posix_spawn(exe, [exe] + self.args.passed, os.environ, file_actions=actions, setsid=True,
                             setsigdef=(signal.SIGPIPE, signal.SIGINT, signal.SIGTERM, signal.SIGCHLD))
        p.pid, p.state = pid, "starting"
        p.started, p.started_wall = time.monotonic(), time.time()
        p.deadline = p.started + (15 if p.kind == "broker" else self.edge_ready_s)
        self.by_pid[pid] = p
        with open(self.path(p.pidfile), "w") as f:
            f.write(f"{pid}\n")
        self.log("info", "started", process=p.name, child=pid)

    def check_ready(self, p):
        try:
            with open(self.path(p.name + ".log"), "rb") as f:
                f.seek(p.log_off)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return
        if re.search(rf"pid={p.pid} .*{re.escape(READY[p.kind])}", text):
            p.state, p.deadline = "running", None
            self.log("info", "ready", process=p.name, child=p.pid, after_ms=int((time.monotonic() - p.started) * 1000))

    def send(self, p, sig):
        if p.pid:
            try:
                os.kill(p.pid, sig)
            except ProcessLookupError:
                pass

    def retire(self, p, sig=signal.SIGTERM):
        """Drains an edge away: SIGTERM, then SIGKILL if still there long after the window."""
        if self.edges.get(p.name) is p:
            del self.edges[p.name]
        if p.pid is None:
            p.state = "stopped"
            return
        self.retiring.append(p)
        p.state, p.deadline = "draining", time.monotonic() + self.drain_s + 15
        old = self.path(p.pidfile)
        p.pidfile = f"{p.name}.draining.{p.pid}.pid"
        if os.path.exists(old):
            os.rename(old, self.path(p.pidfile))
        self.send(p, sig)
        if self.stop_now:
            self.send(p, signal.SIGINT)
        self.log("info", "draining", process=p.name, child=p.pid, window_ms=int(self.drain_s * 1000))

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            p = self.by_pid.pop(pid, None)
            if p:
                self.on_exit(p, status)

    def on_exit(self, p, status):
        now = time.monotonic()
        how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}")
        ran = now - p.started
        p.pid, p.last_exit = None, how
        try:
            os.unlink(self.path(p.pidfile))
        except FileNotFoundError:
            pass
        p.pidfile = p.name + ".pid"
        if p.state == "draining" or self.phase == "stopping":
            p.state = "stopped"
            if p in self.retiring:
                self.retiring.remove(p)
            self.log("info", "exited", process=p.name, status=how, ran_s=round(ran, 1))
            return
        if self.phase == "starting":
            p.state = "failed"
            self.log("error", "died while the cluster was starting", process=p.name, status=how)
            return
        if ran >= self.window_s:
            p.consecutive = 0
        while p.recent and now - p.recent[0] >= self.window_s:
            p.recent.popleft()
        if len(p.recent) >= self.limit:
            p.state = "failed"
            self.log("error", "CRASH LOOP: not restarting it any more", process=p.name, status=how,
                     restarts_in_window=len(p.recent), window_s=self.window_s,
                     hint=f"see {self.path(p.name + '.log')}; fix the cause, then "
                     + ("ringcast restart-edges" if p.kind == "edge" else "ringcast stop; ringcast start"))
            return
        delay = min(self.backoff_s * 2 ** p.consecutive, BACKOFF_CAP_S)
        delay = RNG.uniform(delay / 2, delay)
        p.consecutive += 1
        p.recent.append(now)
        p.state, p.next_start = "backoff", now + delay
        self.log("warn", "died; restarting", process=p.name, status=how, ran_s=round(ran, 1),
                 restart_in_ms=int(delay * 1000), restarts_in_window=len(p.recent), limit=self.limit)

    def revive(self, p):
        p.recent.clear()
        p.consecutive = 0
        self.spawn(p)
