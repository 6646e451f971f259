"""Last step before a sandboxed kernel starts: limits, hidden paths, uid, then ``exec``.

Run as a script (``python -I -S _launch.py PLAN_JSON -- KERNEL_CMD...``) inside the sandbox
that :mod:`rnncourse.grading.sandbox` builds; it imports nothing outside the standard library
so it starts in a few milliseconds. In order it:

1. asks the OS to kill the kernel when its launcher parent dies (``PR_SET_PDEATHSIG``);
2. hides paths by mounting an empty read-only tmpfs over each directory and ``/dev/null`` over
   each file (only in ``unshare`` mode, inside a private mount namespace); the paths listed in
   ``keep`` are bind-mounted back into the tmpfs that covers them;
3. hands the kernel's own directories to the unprivileged uid and drops root for it, if the
   grader runs as root (``unshare`` and ``none`` modes);
4. empties the capability bounding set and sets ``no_new_privs`` (no capabilities after
   ``exec``, no setuid programs);
5. sets the resource limits (``RLIMIT_AS``, ``RLIMIT_CPU``, ``RLIMIT_FSIZE``, ``RLIMIT_NPROC``,
   no core files) and execs the kernel command.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys

PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 8, 32, 4096, 16384

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _drop_capabilities() -> None:
    """Empty the capability bounding set: after ``exec`` the kernel has no capabilities.

    Without this, a kernel running as root (even in its own namespaces) could unmount the
    file systems that hide the course, or read any file regardless of its mode.
    """
    last = 63
    try:
        with open("/proc/sys/kernel/cap_last_cap", "rb") as handle:
            last = int(handle.read())
    except OSError:
        pass
    for cap in range(last + 1):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None):
    def enc(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    if _libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _hide_one(path: str) -> None:
    if os.path.isdir(path):
        _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k")
    else:
        _mount("/dev/null", path, None, MS_BIND, None)
        _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)


def _under(child: str, parent: str) -> bool:
    return child == parent or child.startswith(parent.rstrip("/") + "/")


def hide(path: str, keep: list[str]) -> None:
    """Hide ``path`` except the paths in ``keep`` (and what leads to them).

    A directory holding kept paths gets an empty tmpfs like the others, and each kept path is
    bind-mounted back into it (through a file descriptor opened before the tmpfs covered it),
    so that entries created there later, such as another grading's scratch folder in ``/tmp``,
    stay hidden too.
    """
    if not os.path.lexists(path) or os.path.islink(path):
        return
    if any(_under(path, k) for k in keep):
        return  # the path itself, or something above it, is kept
    inside = sorted({k for k in keep if _under(k, path) and os.path.exists(k)})
    inside = [k for k in inside if not any(_under(k, o) and k != o for o in inside)]
    if not inside:
        _hide_one(path)
        return
    handles = {k: os.open(k, os.O_PATH) for k in inside}
    try:
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
        for kept, fd in handles.items():
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                os.makedirs(kept, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(kept), exist_ok=True)
                open(kept, "ab").close()
            _mount(f"/proc/self/fd/{fd}", kept, None, MS_BIND | MS_REC, None)
        _mount(None, path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
    finally:
        for fd in handles.values():
            os.close(fd)


def _drop_privileges(uid: int, gid: int, chown: list[str]) -> None:
    for top in chown:
        for dirpath, dirnames, filenames in os.walk(top):
            for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                os.lchown(name, uid, gid)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def _set_limits(limits: dict[str, int]) -> None:
    names = {
        "as": resource.RLIMIT_AS,
        "cpu": resource.RLIMIT_CPU,
        "fsize": resource.RLIMIT_FSIZE,
        "nproc": resource.RLIMIT_NPROC,
        "core": resource.RLIMIT_CORE,
    }
    for key, value in limits.items():
        if key == "cpu":  # SIGXCPU at the soft limit, SIGKILL two seconds later
            resource.setrlimit(names[key], (value, value + 2))
        else:
            resource.setrlimit(names[key], (value, value))


def main(argv: list[str]) -> None:
    plan = json.loads(argv[1])
    if argv[2] != "--":
        raise SystemExit("usage: _launch.py PLAN_JSON -- COMMAND...")
    command = argv[3:]
    _die_with_parent()
    for path in plan.get("hide", []):
        hide(path, plan.get("keep", []))
    if plan.get("drop_to"):
        uid, gid = plan["drop_to"]
        _drop_privileges(uid, gid, plan.get("chown", []))
    os.chdir(plan["chdir"])
    _drop_capabilities()
    _set_limits(plan.get("limits", {}))
    # ipykernel would compare this pid with its parent's, which differs in a PID namespace;
    # PR_SET_PDEATHSIG above ties the kernel to its parent instead
    os.environ.pop("JPY_PARENT_PID", None)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv)
