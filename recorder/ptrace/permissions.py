"""Why ptrace was refused, in one line that says what to do about it."""

from __future__ import annotations

import errno
from pathlib import Path

from seccomp_gen.ground.text import printable
from seccomp_gen.recorder.launch.proc import status_field


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _seccomp_mode() -> str:
    return (status_field("self", b"Seccomp") or b"0").decode()


def _target_state(pid: int) -> str | None:
    """What about the process itself refuses a tracer (the kernel answers EPERM for these too):
    it is a zombie, or another tracer already holds it (a process has one tracer)."""
    state = status_field(pid, b"State") or b""
    if state.startswith((b"Z", b"X")):
        return "it has exited (a zombie its parent has not reaped): there is nothing left to trace"
    tracer = int(status_field(pid, b"TracerPid") or b"0")
    if tracer:
        name = _read(f"/proc/{tracer}/comm") or "?"
        return (f"it is already traced by process {tracer} ({printable(name)}): a process has one tracer; "
                "detach that one (strace, gdb) first")
    return None


def ptrace_denied_reason(err: int, pid: int | None = None) -> str:
    """A one-line explanation for a refused PTRACE_SEIZE (`err` is its errno)."""
    target = f"process {pid}" if pid is not None else "the command"
    if err == errno.ESRCH:
        return f"cannot trace {target}: no such process"
    if err == errno.ENOSYS or (_seccomp_mode() == "2" and err in (errno.EPERM, errno.ENOSYS)):
        return ("ptrace not permitted: a seccomp filter on seccomp-gen itself blocks ptrace (container "
                "runtime/default profile?); run the recorder with a profile that allows ptrace, or use "
                "--engine log / --audit-log")
    state = _target_state(pid) if pid is not None else None
    if state:
        return f"cannot trace {target}: {state}"
    scope = _read("/proc/sys/kernel/yama/ptrace_scope")
    if scope in ("2", "3") or (scope == "1" and pid is not None):
        return (f"ptrace not permitted on {target}: Yama ptrace_scope is {scope}; run as root with "
                f"CAP_SYS_PTRACE or lower kernel.yama.ptrace_scope")
    return (f"ptrace not permitted on {target} ({errno.errorcode.get(err, err)}): seccomp-gen needs "
            f"CAP_SYS_PTRACE (in a container: --cap-add SYS_PTRACE) or to run as the process's owner")
