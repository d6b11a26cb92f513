"""API keys never on a command line: every local user reads /proc/PID/cmdline.
The supervisor hands the keys it was given (`--api_keys`, as a flag or in
the --config file) to the broker in a 0600 file of the run directory,
removed when the supervisor stops, and overwrites them in its own command
line, which the daemon keeps for the cluster's lifetime."""
import ctypes
import os
import sys

KEYS_FILE = "api_keys"


def keys_to_file(args, keys):
    """Writes keys to the run directory's keys file (a new file, mode 0600)
    and returns the processes' flags with --api_keys_file instead of them."""
    path = os.path.join(args.run_dir, KEYS_FILE)
    try:
        os.unlink(path)  # a previous run's; the run directory is ours (rundir.py)
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(fd, 0o600)  # whatever the umask
        f.write(keys + "\n")
    passed = []
    for k, v in zip(args.passed[::2], args.passed[1::2]):
        if k != "--api_keys":
            passed += [k, v]
    if args.from_config("api_keys"):
        passed += ["--api_keys", ""]  # the flag wins over the file's value: the broker takes one source
    return passed + ["--api_keys_file", path]


def remove_keys_file(run_dir):
    try:
        os.unlink(os.path.join(run_dir, KEYS_FILE))
    except FileNotFoundError:
        pass


def hide_keys_in_cmdline():
    """Overwrites the value of every --api_keys flag in our own command line
    (the memory /proc/self/cmdline shows, between arg_start and arg_end of
    /proc/self/stat) with '*'. Python copied argv at start, so sys.argv
    keeps them. Returns whether there was one."""
    with open("/proc/self/cmdline", "rb") as f:
        old = f.read()
    words = old.split(b"\0")
    found = False
    for i, w in enumerate(words):
        if w == b"--api_keys" and i + 1 < len(words):
            words[i + 1] = b"*" * len(words[i + 1])
            found = True
        elif w.startswith(b"--api_keys="):
            words[i] = b"--api_keys=" + b"*" * (len(w) - len(b"--api_keys="))
            found = True
    if not found:
        return False
    new = b"\0".join(words)
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[45]), int(fields[46])  # proc(5) fields 48, 49
        if end - start == len(new):
            ctypes.memmove(start, new, len(new))
    except (OSError, IndexError, ValueError):
        pass
    return True


def warn_flag():
    print("ringcast: warning: --api_keys on the command line is visible to every local user (ps) while "
          "ringcast starts, and stays in your shell's history; put the keys in a file of mode 0600 and give "
          "--api_keys_file FILE, or api_keys in a --config file of mode 0600", file=sys.stderr)
