"""kernel.printk_ratelimit=0 shared by every concurrent `--engine log` run, and undone after a killed one.

Complain mode reads the kernel log, whose rate limit (10 lines per 5 s) would drop almost every
record, so a run sets the sysctl to 0. The sysctl is global, so the change is a lease held in a state
file, `STATE_DIR/printk_ratelimit.json`, under an flock of `printk_ratelimit.lock` beside it:

- the first holder saves the value it finds ("original") and sets 0; later holders only register;
  each leaving holder unregisters, and the last one restores the original;
- a holder is a pid plus its start time from /proc/PID/stat, so a reused pid is not mistaken for a
  live holder; every acquire and release first drops holders that are gone (zombies count as gone):
  a SIGKILLed run is recovered from by the next run that starts (or by the log engine's watchdog,
  which releases for its recorder as soon as that dies: watchdog.py);
- someone else's value wins over ours: a restore writes the original only while the sysctl is still
  the 0 we set. Found changed while runs hold it, the new value is taken as the one to restore (and 0
  is set again, as those runs need it); found changed after every holder is gone, it is left as is.

The lock is an flock, released by the kernel when its holder dies, and the state file is replaced
by a rename, so a run killed at any point leaves either the old or the new state, never half of one.
Holders are pids of this pid namespace: a state directory shared between pid namespaces (a host
/run bind-mounted into a container) is not supported. Tests pass their own `state_dir`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.interface import Log, quiet

#: Where the lease lives: tmpfs, root-only, emptied at boot (when the sysctl is back to its default).
STATE_DIR = Path("/run/seccomp-gen")
SYSCTL = Path("/proc/sys/kernel/printk_ratelimit")
STATE_NAME = "printk_ratelimit.json"
LOCK_NAME = "printk_ratelimit.lock"
#: The lock is held for a few file operations; waiting longer than this means something is wrong.
LOCK_TIMEOUT_S = 10.0
LIFTED = "0"


@dataclass(frozen=True)
class Holder:
    """A process holding the lease: its pid and its start time (clock ticks after boot)."""

    pid: int
    start: int

    @classmethod
    def of(cls, pid: int) -> Holder:
        """The holder identity of a live process (SeccompGenError when it is gone)."""
        found = _start_time(pid)
        if found is None:
            raise SeccompGenError(f"process {pid} is gone: it cannot hold kernel.printk_ratelimit")
        return cls(pid, found)

    def alive(self) -> bool:
        """True while this very process runs (not a zombie, not a later process with its pid)."""
        return _start_time(self.pid) == self.start


def _start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (its start time), or None for a gone or zombie process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


@dataclass
class _State:
    """The state file's content: the value to restore and who holds the lease."""

    original: str
    holders: list[Holder] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"version": 1, "original": self.original,
                           "holders": [[h.pid, h.start] for h in self.holders]})

    @classmethod
    def from_json(cls, text: str, shown: str) -> _State:
        try:
            data = json.loads(text)
            return cls(str(data["original"]), [Holder(int(p), int(s)) for p, s in data["holders"]])
        except (ValueError, KeyError, TypeError) as exc:
            raise SeccompGenError(f"unreadable lease state ({exc}): check kernel.printk_ratelimit and "
                                  "delete the file", path=shown) from None


@dataclass(frozen=True)
class Lease:
    """The shared lease on kernel.printk_ratelimit=0 kept in `state_dir`."""

    state_dir: Path = STATE_DIR
    sysctl: Path = SYSCTL
    log: Log = quiet

    def acquire(self, holder: Holder) -> None:
        """Register `holder`; the sysctl is 0 afterwards (OSError/SeccompGenError when it cannot be)."""
        with self._locked():
            state = self._recovered(self._load())
            current = self._read()
            if state is None:
                state = _State(current)
            elif current != LIFTED:
                self.log(f"seccomp-gen: kernel.printk_ratelimit was set to {current} while recordings held it "
                         "at 0: that value is restored when they end")
                state.original = current
            state.holders.append(holder)
            if current != LIFTED:
                self.sysctl.write_text(LIFTED)
            try:
                self._store(state)
            except BaseException:
                if current != LIFTED:  # not registered: nobody would restore it
                    self.sysctl.write_text(current)
                raise

    def release(self, holder: Holder) -> None:
        """Unregister `holder` (if registered) and the holders that are gone; the last one restores."""
        with self._locked():
            state = self._load()
            if state is None:
                return
            with contextlib.suppress(ValueError):
                state.holders.remove(holder)
            self._store(self._recovered(state))

    def recover(self) -> None:
        """Drop gone holders, restoring the original when none is left (what every acquire does first)."""
        with self._locked():
            self._store(self._recovered(self._load()))

    @contextlib.contextmanager
    def held(self, holder: Holder) -> Iterator[bool]:
        """The sysctl at 0 while the block runs (True), or a warning and no change (False)."""
        try:
            self.acquire(holder)
        except (OSError, SeccompGenError) as exc:
            self.log(f"seccomp-gen: cannot lift kernel.printk_ratelimit ({exc}; not root?): "
                     "the kernel log will drop records")
            yield False
            return
        try:
            yield True
        finally:
            try:
                self.release(holder)
            except (OSError, SeccompGenError) as exc:
                self.log(f"seccomp-gen: cannot restore kernel.printk_ratelimit ({exc}): the next log "
                         "recording restores it")

    def _recovered(self, state: _State | None) -> _State | None:
        """`state` without gone holders; None (after restoring) when no holder is left."""
        if state is None:
            return None
        state.holders = [h for h in state.holders if h.alive()]
        if state.holders:
            return state
        current = self._read()
        if current == LIFTED:
            self.sysctl.write_text(state.original)
        elif current != state.original:
            self.log(f"seccomp-gen: kernel.printk_ratelimit was changed to {current} during the recording: "
                     f"left as is (not restored to {state.original})")
        return None

    def _read(self) -> str:
        return self.sysctl.read_text().strip()

    @property
    def _state_path(self) -> Path:
        return self.state_dir / STATE_NAME

    def _load(self) -> _State | None:
        try:
            text = self._state_path.read_text()
        except FileNotFoundError:
            return None
        return _State.from_json(text, str(self._state_path))

    def _store(self, state: _State | None) -> None:
        """Replace the state file by a rename (None: remove it), so a kill never leaves half a file."""
        if state is None:
            with contextlib.suppress(FileNotFoundError):
                self._state_path.unlink()
            return
        temp = self.state_dir / f".{STATE_NAME}.{os.getpid()}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(state.to_json())
        os.replace(temp, self._state_path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The state directory's flock (released by the kernel if we die holding it)."""
        self._ensure_dir()
        fd = os.open(self.state_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT_S
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise SeccompGenError(f"the lock is held for over {LOCK_TIMEOUT_S:g} s",
                                              path=str(self.state_dir / LOCK_NAME)) from None
                    time.sleep(0.01)
            yield
        finally:
            os.close(fd)

    def _ensure_dir(self) -> None:
        """Create the state directory (0700); refuse one that others could write into."""
        with contextlib.suppress(FileExistsError):
            os.mkdir(self.state_dir, 0o700)
        info = os.lstat(self.state_dir)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
            raise SeccompGenError("refusing a state directory that is not ours alone (a directory owned by "
                                  "this user, writable by no one else)", path=str(self.state_dir))
