"""Run `seccomp-gen generate` in forked children whose renames and unlinks are slowed, and judge the
artifact sets they leave: the kill test (SIGKILL at a random moment) and the concurrency test (two
runs into one directory). Run as a script so the code under test is imported once and forked.

    python slow_writes.py kill|race RUNS OUT_DIR NAME REC_A REC_B  -> prints a JSON verdict
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_SLOWED = ("rename", "replace", "unlink")


def _slow_down(rng: random.Random, most_s: float) -> None:
    for name in _SLOWED:
        original: Callable[..., Any] = getattr(os, name)

        def slowed(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            time.sleep(rng.uniform(0, most_s))
            return _original(*args, **kwargs)

        setattr(os, name, slowed)


def _generate(rec: str, name: str, out: Path, slow_s: float, seed: int) -> int:
    """Fork a child that runs the real CLI's generate; returns its pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 70
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        if slow_s:
            _slow_down(random.Random(seed), slow_s)
        from seccomp_gen.cli import main
        main(["generate", rec, "--name", name, "--out", str(out)])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os._exit(code)


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")}


def _reference(rec: str, name: str, where: Path) -> dict[str, bytes]:
    """The set one whole run writes; made in this process, so that every module the children run
    is imported before they fork and they reach their renames at the same pace."""
    from seccomp_gen.cli import main
    where.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main(["generate", rec, "--name", name, "--out", str(where)])
    return _files(where)


def _mixed(present: dict[str, bytes], sets: list[dict[str, bytes]]) -> bool:
    """Files of more than one run side by side (a missing file is not a mix)."""
    return not any(all(whole.get(f) == data for f, data in present.items()) for whole in sets)


def _temps(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.endswith(".tmp"))


def kill_runs(runs: int, out: Path, name: str, recs: list[str], sets: list[dict[str, bytes]]) -> dict[str, Any]:
    rng = random.Random(1)
    start = time.monotonic()
    os.waitpid(_generate(recs[0], name, out, 0.004, 0), 0)
    span = max(0.02, time.monotonic() - start)
    mixed = 0
    for run in range(runs):
        current = 0 if _files(out).get(f"{name}.json") == sets[0][f"{name}.json"] else 1
        pid = _generate(recs[1 - current], name, out, 0.004, run)
        time.sleep(rng.uniform(0, span))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        mixed += _mixed(_files(out), sets)
    os.waitpid(_generate(recs[0], name, out, 0, 0), 0)
    return {"runs": runs, "mixed": mixed, "temps_after_next_run": _temps(out),
            "whole_after_next_run": _files(out) == sets[0]}


def race_runs(runs: int, out: Path, name: str, recs: list[str], sets: list[dict[str, bytes]]) -> dict[str, Any]:
    mixed = incomplete = 0
    for run in range(runs):
        pids = [_generate(rec, name, out, 0.02, 2 * run + i) for i, rec in enumerate(recs)]
        for pid in pids:
            os.waitpid(pid, 0)
        present = _files(out)
        mixed += _mixed(present, sets)
        incomplete += set(present) != set(sets[0])
    return {"runs": runs, "mixed": mixed, "incomplete": incomplete, "temps": _temps(out)}


def main(argv: list[str]) -> None:
    mode, runs, out_dir, name, rec_a, rec_b = argv
    out = Path(out_dir)
    recs = [rec_a, rec_b]
    sets = [_reference(rec, name, out.parent / f"reference-{i}") for i, rec in enumerate(recs)]
    assert sets[0] != sets[1] and set(sets[0]) == set(sets[1]), "the two recordings must give two sets"
    out.mkdir(exist_ok=True)
    judge = kill_runs if mode == "kill" else race_runs
    print(json.dumps(judge(int(runs), out, name, recs, sets)))


if __name__ == "__main__":
    main(sys.argv[1:])
