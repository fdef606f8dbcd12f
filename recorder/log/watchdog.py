"""A watchdog that kills CMD's tree (and gives back the printk lease) when the recorder dies.

Under the LOG filter CMD's tree runs without the recorder, so a recorder that is SIGKILLed (and
cannot clean up) would leave it running, unrecorded. The design:

- before any thread exists, the recorder double-forks a small watchdog (its own session, SIGINT,
  SIGTERM, SIGHUP and SIGQUIT ignored, stdio on /dev/null, every other fd closed: it is no child the
  recorder's subreaper loop waits for and it holds none of the caller's pipes open);
- the watchdog blocks reading a pipe whose only write ends are the recorder's (close-on-exec) and
  those of its forked children until they exec or exit: the end-of-file comes when the recorder is
  gone, however it died;
- CMD's child, in its set-up just before exec, writes the fresh audit session id it just got (the
  log engine gives CMD one to tell its records apart): every process of the tree inherits that id
  and cannot drop it (only CAP_AUDIT_CONTROL may set loginuid again), so the whole tree is found
  through /proc/PID/sessionid - double-forked daemons, setsid() and new process groups included.
  Without a fresh session the child's pid and start time are written instead, and only it is killed;
- a recorder that waited for its tree writes "done" and the watchdog just exits; at end-of-file
  without it, the watchdog SIGKILLs every process of the session (again until none is left, so a
  forking tree cannot outrun it) and then calls `on_orphaned` (the log engine releases the recorder's
  printk lease there, so the sysctl is back at once, not only at the next run).

Nothing of CMD's own state changes for it (fidelity: no PR_SET_PDEATHSIG, which CMD could read back
with PR_GET_PDEATHSIG, that fires when the forking *thread* exits, is cleared by a set-uid exec and
reaches no descendant; no new process group, which would take CMD off the terminal's foreground).
Not covered: a watchdog killed together with its recorder (the state file's recovery at the next
run still restores the sysctl), and tree processes that set a new loginuid themselves.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

from seccomp_gen.ground.errors import SeccompGenError

UNSET_SESSION = "4294967295"
#: How long the watchdog keeps killing a tree that is still forking.
KILL_FOR_S = 10.0
_IGNORED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGPIPE)


def _session(pid: int | str) -> str | None:
    """The audit session id of `pid`, or None when it cannot be read (gone)."""
    try:
        return Path(f"/proc/{pid}/sessionid").read_text().strip()
    except OSError:
        return None


def _stat_fields(pid: int | str) -> list[str] | None:
    """/proc/PID/stat from field 3 (state) on, or None for a gone process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


class Watchdog:
    """The recorder's side: the pipe's write end, and what CMD's child reports through it."""

    def __init__(self, write_fd: int) -> None:
        self._fd: int | None = write_fd
        self._parent_session = _session("self")

    @classmethod
    def start(cls, on_orphaned: Callable[[], None]) -> Watchdog:
        """Double-fork the watchdog; call before any thread is started (a forked child runs Python)."""
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(read_fd)
            os.close(write_fd)
            raise SeccompGenError(f"cannot start the log engine's watchdog: {exc.strerror}") from None
        if pid == 0:  # pragma: no cover - the intermediate child
            try:
                if os.fork() == 0:
                    os.close(write_fd)
                    _watch(read_fd, on_orphaned)
            finally:
                os._exit(0)
        os.close(read_fd)
        os.waitpid(pid, 0)
        return cls(write_fd)

    def report_child(self) -> None:
        """In CMD's child, after it got its audit session and before exec: what to kill if we die."""
        if self._fd is None:
            return
        session = _session("self")
        if session not in (None, UNSET_SESSION, self._parent_session):
            message = f"session {session}\n"
        else:
            fields = _stat_fields("self")
            message = f"pid {os.getpid()} {fields[19] if fields else 0}\n"
        with contextlib.suppress(OSError):
            os.write(self._fd, message.encode())

    def close(self, *, done: bool) -> None:
        """Stop watching: `done` when CMD's tree has been waited for (nothing to kill)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if done:
                with contextlib.suppress(OSError):
                    os.write(fd, b"done\n")
        finally:
            os.close(fd)


@contextlib.contextmanager
def guarding(on_orphaned: Callable[[], None]) -> Iterator[Watchdog]:
    """A watchdog for the block: dismissed when it ends normally, told to kill when it raises."""
    dog = Watchdog.start(on_orphaned)
    ok = False
    try:
        yield dog
        ok = True
    finally:
        dog.close(done=ok)


def _watch(read_fd: int, on_orphaned: Callable[[], None]) -> NoReturn:  # pragma: no cover - in the watchdog
    """The watchdog's life: wait for end-of-file, then kill what the messages named."""
    try:
        os.setsid()
        for signum in _IGNORED:
            signal.signal(signum, signal.SIG_IGN)
        null = os.open(os.devnull, os.O_RDWR)
        for std in (0, 1, 2):
            os.dup2(null, std)
        os.closerange(3, read_fd)
        os.closerange(read_fd + 1, os.sysconf("SC_OPEN_MAX"))
        received = b""
        while chunk := os.read(read_fd, 4096):
            received += chunk
        lines = received.decode(errors="replace").splitlines()
        if "done" not in lines:
            _kill(lines)
            on_orphaned()
    finally:
        os._exit(0)


def _kill(lines: list[str]) -> None:  # pragma: no cover - in the watchdog
    """SIGKILL the reported session's processes (or the reported pid) until none is left."""
    sessions = {words[1] for words in map(str.split, lines) if len(words) == 2 and words[0] == "session"}
    pids = [(int(w[1]), w[2]) for w in map(str.split, lines) if len(w) == 3 and w[0] == "pid"]
    deadline = time.monotonic() + KILL_FOR_S
    while time.monotonic() < deadline:
        targets = [pid for pid, start in pids if (f := _stat_fields(pid)) and f[19] == start and f[0] != "Z"]
        targets += _members(sessions) if sessions else []
        if not targets:
            return
        for pid in targets:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.005)


def _members(sessions: set[str]) -> list[int]:  # pragma: no cover - in the watchdog
    """Live processes whose audit session is one of `sessions`."""
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me and _session(entry) in sessions:
            fields = _stat_fields(entry)
            if fields and fields[0] != "Z":
                found.append(int(entry))
    return found
