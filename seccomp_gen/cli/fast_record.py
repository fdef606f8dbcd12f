"""`seccomp-gen record [-o FILE] [-q] --engine ebpf -- CMD...` without loading click.

The ebpf engine's promise is near-native speed, and its time to CMD's execve (issue 15: <= 50 ms)
is mostly start-up: click alone costs as much as the interpreter. This command line - the engine's
documented form - is parsed here when it has exactly that shape (each option at most once, values
that are not options, `--` before a non-empty CMD); any other shape, and every usage error, is
click's. The run itself is record.py's: the same engine, the same write and exit (runs.py).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

from seccomp_gen.cli.outcome import Failed, guarded, to_stderr
from seccomp_gen.cli.runs import DEFAULT_KILL_AFTER_S, DEFAULT_OUTPUT, ebpf_launch, exit_as, record_runs, write

_OUTPUT, _ENGINE = ("-o", "--output"), ("--engine",)


def parse(argv: Sequence[str]) -> tuple[str, bool, tuple[str, ...]] | None:
    """(output, quiet, CMD) of the plain ebpf command line, or None: click's to parse."""
    if not argv or argv[0] != "record" or "--" not in argv:
        return None
    split = list(argv).index("--")
    options, command = list(argv[1:split]), tuple(argv[split + 1:])
    found: dict[str, str] = {}
    while options and command:
        arg = options.pop(0)
        if arg in ("-q", "--quiet"):
            name, value = "quiet", ""
        else:
            flag, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
            if not eq:
                value = options.pop(0) if options else ""
            name = "output" if flag in _OUTPUT else "engine" if flag in _ENGINE else ""
            if not name or not value or value.startswith("-"):
                return None
        if name in found:
            return None
        found[name] = value
    if not command or found.get("engine") != "ebpf":
        return None
    return found.get("output", DEFAULT_OUTPUT), "quiet" in found, command


def _stderr(message: str) -> None:
    """options.stderr without click: each line through `printable`."""
    from seccomp_gen.ground.text import printable

    to_stderr("\n".join(printable(line) for line in message.split("\n")))


def _quiet(_message: str) -> None:
    """-q: the recorder says nothing."""


def run(output: str, quiet: bool, command: tuple[str, ...]) -> int:
    """The group's set-up (SIGPIPE at its default), then record.py's steps for this command line:
    refuse an unwritable output before CMD runs, record, write, exit as CMD did."""
    from seccomp_gen.ground.atomic import check_writable

    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    log = _quiet if quiet else _stderr

    def body() -> None:
        check_writable(output)
        rec = record_runs(ebpf_launch(command, DEFAULT_KILL_AFTER_S, log), 1, log)
        write(rec, output, log)
        exit_as(rec, True)

    try:
        guarded(body)
    except Failed as failed:
        return failed.status
    except SystemExit as done:  # exit_as: CMD's status, once the recording is written
        if done.code is None or isinstance(done.code, int):
            _exit_now(done.code or 0)
        raise
    return 0


def _exit_now(status: int) -> NoReturn:
    """Exit without the interpreter's teardown: freeing ~300 modules costs 10-20 ms after CMD has
    ended (issue 15 counts the whole process). Nothing is pending by now: the recording is written
    and synced, no thread runs, no atexit handler of seccomp-gen or its libraries has work to do;
    stdout and stderr are flushed here - if that fails, the interpreter's own exit reports it."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        raise SystemExit(status) from None
    os._exit(status)
