"""The supervisor itself: the event loop, the edge set (scale, prep, rolling
restart), the stop sequence and the control socket's server side."""
import os
import select
import signal
import socket
import sys
import time

from .options import HERE
from .procs import Proc, ProcessTable
from .secrets import KEYS_FILE
from .wire import recv_msg, send_msg


class Supervisor(ProcessTable):
    def __init__(self, args, defaults, want_edges, foreground):
        super().__init__(args, defaults, foreground)
        self.instance = args.instance
        o = self.opt
        self.broker_url = f"http://{o('broker_host')}:{o('broker_port')}"
        shown = o("edge_host") if o("edge_host") != "0.0.0.0" else "127.0.0.1"
        self.socket_url = f"ws://{shown}:{o('edge_port')}/socket"
        self.want = want_edges
        self.prep = None  # {"until": monotonic, "back_to": n}
        self.rolling = None  # {"todo": [names], "new": Proc|None, "old": Proc|None}
        self.started = time.monotonic()
        self.signals = []
        self.ready_fd = None
        self.start_error = ""

    # -- the edge set
    def free_name(self):
        used = set(self.edges) | {p.name for p in self.retiring}
        if self.rolling and self.rolling.get("new"):
            used.add(self.rolling["new"].name)
        n = 1
        while f"edge.{n}" in used:
            n += 1
        return f"edge.{n}"

    def reconcile(self):
        """Starts or drains edges until `want` are kept running."""
        while len(self.edges) < self.want:
            p = Proc("edge", self.free_name())
            self.edges[p.name] = p
            self.spawn(p)
        if len(self.edges) > self.want:
            # Drain first the ones that serve nobody yet, then the newest.
            order = sorted(self.edges.values(), key=lambda p: (p.state == "running", -int(p.name.split(".")[1])))
            for p in order[:len(self.edges) - self.want]:
                self.retire(p)

    def tick(self):
        now = time.monotonic()
        procs = [self.broker, *self.edges.values(), *self.retiring]
        if self.rolling and self.rolling.get("new"):
            procs.append(self.rolling["new"])
        for p in procs:
            if p.state == "starting":
                self.check_ready(p)
                if p.state == "starting" and now >= p.deadline:
                    self.log("error", "not ready in time; killing it", process=p.name, child=p.pid)
                    self.send(p, signal.SIGKILL)
            elif p.state == "backoff" and now >= p.next_start and self.phase == "up":
                p.restarts += 1
                self.spawn(p)
            elif p.state == "draining" and now >= p.deadline:
                self.log("warn", "drain took too long; killing it", process=p.name, child=p.pid)
                self.send(p, signal.SIGKILL)
                p.deadline = now + 5
        if self.phase == "starting":
            self.step_start()
        elif self.phase == "up":
            if self.prep and now >= self.prep["until"]:
                self.log("info", "prep window over; scaling back", edges=self.prep["back_to"])
                self.want, self.prep = self.prep["back_to"], None
                self.reconcile()
            if self.rolling:
                self.step_rolling()
        elif self.phase == "stopping":
            self.step_stop()

    def step_start(self):
        procs = [self.broker, *self.edges.values()]
        failed = [p.name for p in procs if p.state == "failed"]
        if failed:
            self.report_ready(f"{', '.join(failed)} did not start (logs: {self.run_dir})")
            self.begin_stop()
            return
        if self.broker.state == "running" and not self.edges:
            self.reconcile()
        if self.edges and all(p.state == "running" for p in [self.broker, *self.edges.values()]):
            self.phase = "up"
            self.log("info", "cluster up", edges=len(self.edges))
            self.report_ready("")

    def report_ready(self, err):
        self.start_error = err
        if self.foreground:
            if err:
                print(f"ringcast: {err}", file=sys.stderr)
            else:
                print(self.banner(), flush=True)
                print("(foreground: Ctrl-C stops the cluster, a second Ctrl-C skips the drain)", flush=True)
        elif self.ready_fd is not None:
            os.write(self.ready_fd, (("error " + err) if err else "ok\n" + self.banner()).encode())
            os.close(self.ready_fd)
            self.ready_fd = None

    def banner(self):
        return (f"ringcast '{self.instance}' is up: supervisor pid {os.getpid()}, broker pid {self.broker.pid}, "
                f"{len(self.edges)} edge(s). Logs and pids: {self.run_dir}\n"
                f"  publish:  curl -s -X POST {self.broker_url}/api/push -d "
                "'{\"topic\":\"room:lobby\",\"event\":\"new_msg\",\"data\":{\"body\":\"hi\"}}'\n"
                f"  clients:  new Socket(\"{self.socket_url}\", {{transport: WebSocket}}) (phoenix npm client, vsn 2.0.0)\n"
                f"  health:   curl -s {self.broker_url}/healthz\n"
                f"  status:   {HERE}/ringcast status --instance {self.instance}")

    def step_rolling(self):
        r = self.rolling
        new, old = r.get("new"), r.get("old")
        if new is not None:
            if new.state == "running":
                self.log("info", "rolling restart: replacement ready, draining the old edge", process=new.name,
                         new=new.pid, old=old.pid if old else None)
                self.edges[new.name] = new
                r["new"] = None
                if old is not None and old.pid is not None:
                    self.retire(old)
                else:
                    r["old"] = None
                os.rename(self.path(new.pidfile), self.path(new.name + ".pid"))
                new.pidfile = new.name + ".pid"
            elif new.state in ("failed", "backoff", "stopped"):
                self.log("error", "rolling restart aborted: the replacement did not start; the old edge keeps serving",
                         process=new.name, status=new.last_exit)
                new.state = "failed" if new.state != "stopped" else "stopped"
                if new.name not in self.edges:  # it replaced a failed edge: keep reporting it
                    self.edges[new.name] = new
                self.rolling = None
            return
        if old is not None:
            if old.state != "stopped":
                return  # still draining
            r["old"] = None
        while r["todo"]:
            name = r["todo"].pop(0)
            cur = self.edges.get(name)
            if cur is None:
                continue  # scaled away meanwhile
            r["old"] = cur if cur.pid is not None else None
            if r["old"] is None:  # failed or waiting to restart: start it again now
                del self.edges[name]
            r["new"] = Proc("edge", name)
            r["new"].restarts = cur.restarts
            r["new"].pidfile = f"{name}.new.pid"
            self.spawn(r["new"])
            return
        self.log("info", "rolling restart done", edges=len(self.edges))
        self.rolling = None

    def begin_stop(self):
        if self.phase == "stopping":
            if not self.stop_now:
                self.stop_now = True
                self.log("info", "stop now: edges close their connections at once")
                for p in self.retiring:
                    self.send(p, signal.SIGINT)
            return
        self.phase = "stopping"
        self.log("info", "stopping: draining edges, then the broker")
        self.rolling, self.prep = None, None
        for p in list(self.edges.values()):
            self.retire(p)
        for p in list(self.by_pid.values()):  # a rolling restart's replacement
            if p.kind == "edge" and p not in self.retiring:
                self.retire(p)

    def step_stop(self):
        if self.retiring:
            return
        if self.broker.pid is not None:
            if self.broker.state != "draining":
                self.broker.state, self.broker.deadline = "draining", time.monotonic() + 10
                self.send(self.broker, signal.SIGTERM)
                self.log("info", "edges gone; stopping the broker", child=self.broker.pid)
            return
        self.phase = "stopped"

    def busy(self):
        """Whether something needs polling (readiness, backoff, drain deadlines, prep)."""
        procs = [self.broker, *self.edges.values(), *self.retiring]
        if self.rolling or self.prep or self.phase != "up":
            return True
        return any(p.state in ("starting", "backoff", "draining") for p in procs)

    # -- control requests
    def handle(self, req):
        cmd = req.get("cmd")
        if cmd == "status":
            return self.status()
        if self.phase == "stopping" and cmd != "stop":
            return {"error": "the cluster is stopping"}
        if cmd == "stop":
            self.begin_stop()
            return {"ok": True, "pid": os.getpid()}
        if self.phase != "up":
            return {"error": "the cluster is still starting"}
        if cmd in ("scale", "prep") and self.rolling:
            return {"error": "a rolling restart is running; scale when it is done"}
        if cmd == "scale":
            self.prep = None
            self.want = int(req["edges"])
            for p in self.edges.values():
                if p.state == "failed":
                    self.revive(p)
            self.reconcile()
            self.log("info", "scale", edges=self.want)
            return {"ok": True, "edges": self.want}
        if cmd == "prep":
            n, secs = int(req["edges"]), float(req["for_s"])
            back_to = self.prep["back_to"] if self.prep else self.want
            if n <= back_to:
                return {"error": f"already at {back_to} edge(s); prep only scales up"}
            self.prep = {"until": time.monotonic() + secs, "back_to": back_to}
            self.want = n
            self.reconcile()
            self.log("info", "prep", edges=n, for_s=secs, back_to=back_to)
            return {"ok": True, "edges": n, "back_to": back_to, "for_s": secs}
        if cmd == "restart-edges":
            if self.rolling:
                return {"error": "a rolling restart is already running"}
            self.rolling = {"todo": sorted(self.edges, key=lambda n: int(n.split(".")[1])), "new": None, "old": None}
            self.log("info", "rolling restart", edges=len(self.rolling["todo"]))
            return {"ok": True, "edges": list(self.rolling["todo"])}
        return {"error": f"unknown command {cmd!r}"}

    def status(self):
        now = time.monotonic()
        procs = [self.broker, *sorted(self.edges.values(), key=lambda p: int(p.name.split(".")[1])), *self.retiring]
        if self.rolling and self.rolling.get("new"):
            procs.append(self.rolling["new"])
        return {"instance": self.instance, "phase": self.phase, "supervisor_pid": os.getpid(),
                "uptime_s": round(now - self.started, 1), "want_edges": self.want,
                "broker_url": self.broker_url, "run_dir": self.run_dir,
                "prep": {"back_to": self.prep["back_to"], "in_s": round(self.prep["until"] - now, 1)}
                if self.prep else None,
                "rolling": {"left": len(self.rolling["todo"]) + (1 if self.rolling.get("new") or self.rolling.get("old") else 0)}
                if self.rolling else None,
                "restart_limit": self.limit, "restart_window_s": self.window_s,
                "processes": [p.view(now) for p in procs]}

    # -- the loop
    def run(self, ready_fd=None):
        self.ready_fd = ready_fd
        ctl_path = self.path("ctl.sock")
        try:
            os.unlink(ctl_path)
        except FileNotFoundError:
            pass
        ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ctl.bind(ctl_path)
        ctl.listen(16)
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, lambda s, f: self.signals.append(s))
        with open(self.path("supervisor.pid"), "w") as f:
            f.write(f"{os.getpid()}\n")
        self.log("info", "supervisor started", edges=self.want, restart_limit=self.limit,
                 restart_window_s=self.window_s, restart_backoff_ms=int(self.backoff_s * 1000))
        self.spawn(self.broker)
        while self.phase != "stopped":
            # Sleeps until a child exits, a signal or a command arrives; polls
            # (10/s) only while something is starting, draining or waiting.
            try:
                ready, _, _ = select.select([ctl, wake_r], [], [], 0.1 if self.busy() else None)
            except InterruptedError:
                ready = []
            if wake_r in ready:
                os.read(wake_r, 4096)
            while self.signals:
                s = self.signals.pop(0)
                if s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    self.log("info", "signal", signal=signal.Signals(s).name)
                    if self.foreground and s == signal.SIGINT:
                        print("\nstopping (draining edges; Ctrl-C again to skip the drain)...", flush=True)
                    self.begin_stop()
            self.reap()
            if ctl in ready:
                self.serve(ctl)
            self.tick()
        self.reap()
        try:
            os.unlink(f"/dev/shm/ringcast-{self.instance}")
        except FileNotFoundError:
            pass
        for name in ("ctl.sock", "supervisor.pid", KEYS_FILE):
            try:
                os.unlink(self.path(name))
            except FileNotFoundError:
                pass
        self.log("info", "supervisor stopped")
        if self.ready_fd is not None:
            self.report_ready("the cluster stopped before it was up")

    def serve(self, ctl):
        conn, _ = ctl.accept()
        with conn:
            conn.settimeout(2)
            try:
                reply = self.handle(recv_msg(conn, 4096, empty=b"{}"))
            except (OSError, ValueError, KeyError, TypeError) as e:
                reply = {"error": f"bad request: {e}"}
            try:
                send_msg(conn, reply)
            except OSError:
                pass

    def run_detached(self):
        """Runs the supervisor as a daemon (its own session, no terminal, stdio
        to its log) and returns its report from the ready pipe: "ok", a
        newline and the banner; "error " and the reason; or "" if it died
        before reporting."""
        r, w = os.pipe()
        if os.fork() == 0:  # the daemon: its own session, no terminal, stdio to its log
            os.close(r)
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            os.chdir("/")
            null = os.open("/dev/null", os.O_RDWR)
            logfd = os.open(os.path.join(self.run_dir, "supervisor.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.dup2(null, 0)
            os.dup2(logfd, 1)
            os.dup2(logfd, 2)
            try:
                self.run(ready_fd=w)
            except BaseException:
                import traceback
                traceback.print_exc()
                os._exit(1)
            os._exit(0)
        os.close(w)
        os.wait()  # the first child, which exits at once
        msg = b""
        while True:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            msg += chunk
        return msg.decode()
