"""The log engine's global change, kernel.printk_ratelimit=0, is safe for overlapping and killed runs,
and a SIGKILLed recorder leaves no part of CMD's tree running (real processes, the real sysctl; the
lease state lives in a private directory per test)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from seccomp_gen.recorder.log.ratelimit import STATE_NAME, Holder, Lease
from tests.support.process import REPO

RATELIMIT = Path("/proc/sys/kernel/printk_ratelimit")
#: A recorder as `seccomp-gen record --engine log -- CMD` runs it, with the lease in argv[1].
RECORDER = ("import sys\nfrom pathlib import Path\nfrom seccomp_gen.recorder.log.engine import LogEngine\n"
            "rec = LogEngine(command=sys.argv[2:], printk_state_dir=Path(sys.argv[1])).record()\n"
            "sys.exit(rec.exit_status or 0)\n")
#: A bare lease holder: acquires, says so, and sleeps until killed.
HOLDER = ("import os, sys, time\nfrom pathlib import Path\n"
          "from seccomp_gen.recorder.log.ratelimit import Holder, Lease\n"
          "Lease(Path(sys.argv[1])).acquire(Holder.of(os.getpid()))\nprint('held', flush=True)\ntime.sleep(60)\n")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="kernel.printk_ratelimit is root's to change")

Spawn = Callable[..., "subprocess.Popen[str]"]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def original() -> Iterator[str]:
    """The sysctl's value before the test (not 0, or nothing could be seen), put back whatever happens."""
    before = RATELIMIT.read_text().strip()
    if before == "0":
        RATELIMIT.write_text("5")
    try:
        yield RATELIMIT.read_text().strip()
    finally:
        RATELIMIT.write_text(before)


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """spawn(script, *args, stdin=...) starts `python -c script`; every one is killed at the end, and
    so is every pid a test wrote to tmp_path/*.pid."""
    started: list[subprocess.Popen[str]] = []

    def start(script: str, *args: str, **kwargs: object) -> subprocess.Popen[str]:
        kwargs = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **kwargs}
        proc = subprocess.Popen([sys.executable, "-c", script, *args], cwd=REPO, text=True,
                                **kwargs)  # type: ignore[call-overload]
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for pidfile in tmp_path.glob("*.pid"):  # first: they may hold the recorders' pipes open
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
        for proc in started:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.communicate(timeout=30)


def _holders(state_dir: Path) -> int:
    try:
        return len(json.loads((state_dir / STATE_NAME).read_text())["holders"])
    except (OSError, ValueError):
        return 0


def _state_dir(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    return state


def test_overlapping_runs_keep_it_lifted_until_the_last_ends(tmp_path: Path, original: str, spawn: Spawn) -> None:
    """Run A starts, run B starts, A ends first: still 0 (B is recording); B ends: the original."""
    state = _state_dir(tmp_path)
    ready = [tmp_path / "first.ready", tmp_path / "second.ready"]
    first = spawn(RECORDER, str(state), "/bin/sh", "-c", f"touch {ready[0]}; read line", stdin=subprocess.PIPE)
    _wait_for(ready[0].exists, "the first run's command")
    assert RATELIMIT.read_text().strip() == "0"
    second = spawn(RECORDER, str(state), "/bin/sh", "-c", f"touch {ready[1]}; read line", stdin=subprocess.PIPE)
    _wait_for(ready[1].exists, "the second run's command")
    first.communicate("\n", timeout=60)
    assert first.returncode == 0, first.stderr
    assert RATELIMIT.read_text().strip() == "0", "restored under a run that is still recording"
    second.communicate("\n", timeout=60)
    assert second.returncode == 0, second.stderr
    assert RATELIMIT.read_text().strip() == original
    assert not (state / STATE_NAME).exists()
    _wait_for(lambda: not _running_with(str(state)), "the runs' watchdogs to exit", 5)


def _running_with(word: str) -> list[int]:
    """Live processes whose argv mentions `word` (a recorder's watchdog keeps its recorder's argv)."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and word.encode() in (entry / "cmdline").read_bytes() and _alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def test_sigkilled_recorder_leaves_no_tree_and_no_lifted_sysctl(tmp_path: Path, original: str,
                                                                spawn: Spawn) -> None:
    """CMD, a child of it and a setsid() daemon all die with the recorder; the sysctl comes back."""
    state = _state_dir(tmp_path)
    pids = {name: tmp_path / f"{name}.pid" for name in ("cmd", "child", "daemon")}
    script = (f"sleep 300 & echo $! > {pids['child']}; setsid sleep 300 & echo $! > {pids['daemon']}; "
              f"echo $$ > {pids['cmd']}; wait")
    # CMD's stdio not on the recorder's pipes: waiting for the recorder must not wait for the tree.
    recorder = spawn(RECORDER, str(state), "/bin/sh", "-c", script, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    _wait_for(lambda: all(p.exists() and p.read_text().strip() for p in pids.values()), "CMD's tree")
    assert RATELIMIT.read_text().strip() == "0"
    tree = {name: int(p.read_text()) for name, p in pids.items()}
    assert all(_alive(pid) for pid in tree.values())
    recorder.kill()
    assert recorder.wait(timeout=30) == -signal.SIGKILL
    _wait_for(lambda: not any(_alive(pid) for pid in tree.values()),
              f"CMD's tree to die with its recorder: {[n for n, p in tree.items() if _alive(p)]} still run", 10)
    _wait_for(lambda: not _running_with(str(state)), "the watchdog to exit", 10)
    Lease(state).recover()  # what the next run does first (the watchdog may have done it already)
    assert RATELIMIT.read_text().strip() == original


def test_next_start_recovers_from_a_killed_holder(tmp_path: Path, original: str, spawn: Spawn) -> None:
    """A holder SIGKILLed (no watchdog to help): the next holder takes over, and restores when it ends."""
    state = _state_dir(tmp_path)
    holder = spawn(HOLDER, str(state))
    assert holder.stdout is not None and holder.stdout.readline() == "held\n", holder.stderr
    holder.kill()
    holder.wait(timeout=30)
    assert RATELIMIT.read_text().strip() == "0"  # nobody could restore it
    lease = Lease(state)
    with lease.held(Holder.of(os.getpid())) as lifted:
        assert lifted and RATELIMIT.read_text().strip() == "0" and _holders(state) == 1
    assert RATELIMIT.read_text().strip() == original


def test_a_reused_pid_is_not_a_holder(tmp_path: Path, original: str) -> None:
    """A holder entry whose pid now belongs to another process (a different start time) is gone."""
    state = _state_dir(tmp_path)
    me = Holder.of(os.getpid())
    RATELIMIT.write_text("0")
    (state / STATE_NAME).write_text(json.dumps({"version": 1, "original": original,
                                                "holders": [[me.pid, me.start + 1]]}))
    Lease(state).recover()
    assert RATELIMIT.read_text().strip() == original


def test_someone_elses_value_is_not_clobbered(tmp_path: Path, original: str, spawn: Spawn) -> None:
    """Set to 7 by an admin while a run holds it: the last run leaves 7, not the value it found."""
    state = _state_dir(tmp_path)
    messages: list[str] = []
    lease = Lease(state, log=messages.append)
    with lease.held(Holder.of(os.getpid())):
        RATELIMIT.write_text("7")
    assert RATELIMIT.read_text().strip() == "7", messages
    RATELIMIT.write_text(original)
    with lease.held(Holder.of(os.getpid())):
        RATELIMIT.write_text("7")
        holder = spawn(HOLDER, str(state))  # joins, finds 7: adopts it as the value to restore
        assert holder.stdout is not None and holder.stdout.readline() == "held\n", holder.stderr
        assert RATELIMIT.read_text().strip() == "0"
        holder.kill()
        holder.wait(timeout=30)
    assert RATELIMIT.read_text().strip() == "7"
