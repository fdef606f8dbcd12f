"""`seccomp-gen --version`, `seccomp-gen show FILE` and the plain `record --engine ebpf -- CMD`
(fast_record.py) without loading click.

Importing click costs about as much as the interpreter's own start (issue 15: start-up to first
output <= 60 ms, to CMD's execve <= 50 ms), and these are what people and scripts run most. Each
fast path is taken only when click would do exactly the same: the plain argument shape, streams
click would not rewrap, no shell completion request; everything else (options, --help, errors of
usage) goes to click.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence

from seccomp_gen import __version__
from seccomp_gen.cli.outcome import Failed, drop_stdout, guarded


def _plain_streams() -> bool:
    """click.echo writes straight to sys.stdout/sys.stderr unless it must rewrap an ASCII one."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "ascii"
        if stream is None or encoding.lower().replace("_", "-") in ("ascii", "us-ascii", "646", "ansi-x3.4-1968"):
            return False
    return True


def _completing() -> bool:
    """click answers shell completion when `_<PROG>_COMPLETE` is set."""
    return any(name.startswith("_") and name.endswith("_COMPLETE") for name in os.environ)


def _version() -> int:
    """click.version_option's output: `seccomp-gen, version X`, exit 0 (1 on a closed pipe, as
    click's main exits then)."""
    try:
        sys.stdout.write(f"seccomp-gen, version {__version__}\n")
        sys.stdout.flush()
    except BrokenPipeError:
        drop_stdout()
        return 1
    return 0


def _readable_or_missing(path: str) -> bool:
    """click.Path(dir_okay=True) accepts a path that does not exist or is readable; anything else
    is its usage error, left to click."""
    try:
        os.stat(path)
    except ValueError:  # a NUL in the path
        return False
    except OSError:
        return True
    return os.access(path, os.R_OK)


def shown(recording_file: str) -> str:
    """The table `show` prints, whether click or the fast path runs it."""
    from seccomp_gen.recorder import recording, report

    return report.table(recording.load(recording_file), recording_file)


def _show(path: str) -> int:
    """The group's set-up (SIGPIPE back to default), then `show`'s body under the same guard."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        guarded(lambda: _echo(shown(path)))
    except Failed as failed:
        return failed.status
    return 0


def _echo(text: str) -> None:
    """click.echo of text for a stream it does not rewrap: ANSI sequences stripped when not a
    terminal (printable output has none; click does it then)."""
    if "\x1b" in text:
        import click

        click.echo(text)
        return
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


def _fast_command(argv: Sequence[str]) -> Callable[[], int] | None:
    """The fast path for this command line, or None."""
    if list(argv) == ["--version"]:
        return _version
    if len(argv) == 2 and argv[0] == "show" and argv[1] and not argv[1].startswith("-") \
            and _readable_or_missing(argv[1]):
        return lambda: _with_sonames(lambda: _show(argv[1]))
    if argv[:1] == ["record"]:
        from seccomp_gen.cli import fast_record

        plain = fast_record.parse(argv)
        if plain is not None:
            return lambda: _with_sonames(lambda: fast_record.run(*plain))
    return None


def _with_sonames(command: Callable[[], int]) -> int:
    from seccomp_gen.cli import sonames

    sonames.install()
    return command()


def answer(argv: Sequence[str]) -> int | None:
    """The exit status of a command answered here, or None: click's to run. Outside the commands'
    own guard, click's main ends an interrupt with "Aborted!" and a closed pipe with status 1."""
    if not _plain_streams() or _completing():
        return None
    command = _fast_command(argv)
    if command is None:
        return None
    try:
        return command()
    except (EOFError, KeyboardInterrupt):
        sys.stderr.write("\nAborted!\n")
        sys.stderr.flush()
        return 1
    except BrokenPipeError:
        drop_stdout()
        return 1
