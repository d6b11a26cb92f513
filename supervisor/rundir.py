"""The run directory (the control socket, logs, pid files, the keys file).
/tmp is writable by every local user: whoever pre-creates
/tmp/ringcast-<instance>, or a symlink there, would have the supervisor
write and delete files in a directory of theirs, and `stop` kill the pids
they put in it. So a run directory that exists is used only if it is ours,
mode 0700 and not a symlink, by every command; `start` creates it so."""
import os
import stat

from .options import die


def check_run_dir(path):
    """Dies (with the path and the fix) unless path is absent or a directory
    of ours with mode 0700 that is not a symlink. Returns whether it exists."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(st.st_mode):
        die(f"run directory {path} is a symlink; ringcast never follows one: someone else may have planted it: "
            f"check who, remove it (rm {path}) and start again, or give --run_dir")
    mode = stat.S_IMODE(st.st_mode)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or mode != 0o700:
        fix = (f"if it is yours: chmod 700 {path}; else " if st.st_uid == os.geteuid() and stat.S_ISDIR(st.st_mode)
               else "")
        die(f"run directory {path} is not ours: owner uid {st.st_uid} (we are {os.geteuid()}), mode {mode:04o} "
            f"(want 0700){'' if stat.S_ISDIR(st.st_mode) else ', not a directory'}; someone else may have planted "
            f"it: {fix}check who, remove it (rm -r {path}) and start again, or give --run_dir")
    return True


def make_run_dir(path):
    """Creates path with mode 0700 (or accepts it as check_run_dir does)."""
    if check_run_dir(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)  # an explicit --run_dir's parents
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:  # someone was quicker: theirs, or ours from a second start
        check_run_dir(path)
        return
    # The umask may have taken bits from 0700; O_NOFOLLOW: still the one we made.
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fchmod(fd, 0o700)
    finally:
        os.close(fd)
    check_run_dir(path)
