"""The command line, the option table and the values the supervisor reads from it."""
import os
import re
import stat
import sys

# The repository: where the ringcast script is, and build/bin next to it.
HERE = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
BIN = os.environ.get("RINGCAST_BIN") or os.path.join(HERE, "build", "bin")


def die(msg, code=1):
    print(f"ringcast: {msg}", file=sys.stderr)
    sys.exit(code)


class Args:
    """The command line: our own flags, and the --key value pairs for the processes."""

    def __init__(self, cmd, argv):
        self.cmd, self.instance, self.config, self.run_dir = cmd, "default", "", ""
        self.edges = None
        self.foreground = self.now = self.json = self.no_wait = False
        self.duration = None
        self.count = None
        self.passed = []  # [key, value, ...] for the broker and the edges
        i = 0
        while i < len(argv):
            a = argv[i]
            if a in ("--foreground", "--now", "--json", "--no-wait"):
                setattr(self, a[2:].replace("-", "_"), True)
                i += 1
                continue
            if not a.startswith("--"):
                if cmd == "scale" and self.count is None:
                    self.count = a
                    i += 1
                    continue
                die(f"unexpected argument '{a}'", 2)
            if "=" in a:
                key, val = a[2:].split("=", 1)
                i += 1
            else:
                if i + 1 >= len(argv):
                    die(f"{a} needs a value", 2)
                key, val = a[2:], argv[i + 1]
                i += 2
            if key == "edges":
                self.edges = val
            elif key == "for":
                self.duration = val
            else:
                # Paths absolute: the daemon and its children run in /.
                if key in PATH_KEYS and val:
                    val = os.path.abspath(val)
                if key == "instance":
                    self.instance = val
                elif key == "config":
                    self.config = val
                elif key == "run_dir":
                    self.run_dir = val
                self.passed += ["--" + key, val]
        check_instance(self.instance)
        self.run_dir = self.run_dir or default_run_dir(self.instance, cmd)
        if self.edges is not None:
            self.edges = edge_count(self.edges, "--edges")

    def opt(self, key, defaults):
        """The value the processes will see: flag (last wins), else --config file, else default."""
        val = None
        for k, v in zip(self.passed[::2], self.passed[1::2]):
            if k == "--" + key:
                val = v
        if val is None:
            val = self.from_config(key)
        return defaults.get(key, "") if val is None else val

    def from_config(self, key):
        """The value the --config file gives key; None if it gives none."""
        val = None
        if self.config and os.path.isfile(self.config):
            with open(self.config) as f:
                for line in f:
                    line = line.split("#", 1)[0]
                    if "=" in line and line.split("=", 1)[0].strip() == key:
                        val = line.split("=", 1)[1].strip()
        return val


PATH_KEYS = ("config", "run_dir", "api_keys_file")


def check_instance(name):
    """The instance names the C side accepts (shm/region.c region_name),
    refused here before anything is created or stopped: no '/', no byte
    below 0x21, 1..80 bytes."""
    b = os.fsencode(name)
    if b"/" in b or any(c < 0x21 for c in b):
        die(f"--instance {name!r} must not contain '/', spaces or control characters", 2)
    if not 1 <= len(b) <= 80:
        die(f"--instance must be 1..80 characters, not {len(b)}", 2)


def default_run_dir(instance, cmd):
    """$XDG_RUNTIME_DIR/ringcast-<instance> when $XDG_RUNTIME_DIR is a
    directory of ours (private to us, unlike /tmp), else
    /tmp/ringcast-<instance>. The other commands go to /tmp as well if only
    that one exists: the instance was started where XDG_RUNTIME_DIR is
    not set (a service, another session)."""
    tmp = f"/tmp/ringcast-{instance}"
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    try:
        st = os.stat(xdg) if os.path.isabs(xdg) else None
    except OSError:
        st = None
    if st is None or not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        return tmp
    mine = os.path.join(xdg, f"ringcast-{instance}")
    if cmd != "start" and not os.path.lexists(mine) and os.path.lexists(tmp):
        return tmp
    return mine


def edge_count(s, what):
    if not re.fullmatch(r"[0-9]+", str(s)) or not 1 <= int(s) <= 64:
        die(f"{what} must be a number in 1..64", 2)
    return int(s)


def parse_duration(s):
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?", s or "")
    if not m:
        die(f"--for needs a duration like 90, 20s, 5m or 1h, not '{s}'", 2)
    return float(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


def option_defaults():
    """The one option table, as the binaries print it (common/options.c)."""
    import subprocess
    try:
        out = subprocess.run([os.path.join(BIN, "broker"), "--print-options"], capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        die(f"cannot read the option table from {BIN}/broker ({e}); run make")
    defaults = {}
    for line in out.splitlines():
        m = re.match(r"\| `([a-z_]+)` \| (?:`([^`]*)`|\(empty\)) \|", line)
        if m:
            defaults[m.group(1)] = m.group(2) or ""
    return defaults


def to_int(key, s):
    m = re.fullmatch(r"([0-9]+)([KMG]?)", s)
    if not m:
        die(f"option {key}: '{s}' is not a non-negative integer", 2)
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]
