"""The command line. `run` is the console script's entry point; the click app is cli/app.py.

`run` answers `--version` and `show FILE` without importing click (fast.py: start-up to first
output is issue 15's target) and gives every other command line to the click group. `main` (the
click group, as tests and `CliRunner` use it) and the exit-status helpers load on first access.
"""

from __future__ import annotations

import sys

#: Names served from cli/app.py and cli/outcome.py on first use (PEP 562), so importing this
#: package does not import click.
_LAZY = {"main": "app", "COMMANDS": "app", "exit_status": "outcome", "EXIT_ERROR": "outcome",
         "EXIT_STATUS": "outcome"}


def run() -> None:
    """The `seccomp-gen` console script and `python -m seccomp_gen`."""
    from seccomp_gen.cli import fast

    status = fast.answer(sys.argv[1:])
    if status is not None:
        sys.exit(status)
    from seccomp_gen.cli import sonames

    sonames.install()
    from seccomp_gen.cli.app import main

    main()


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"seccomp_gen.cli.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
