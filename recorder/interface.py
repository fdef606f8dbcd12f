"""What every recording engine provides: run (or read) something and return a Recording."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from seccomp_gen.recorder.recording import Recording

#: Where engines send their progress messages (the CLI passes stderr, or `quiet`).
Log = Callable[[str], None]


def quiet(_message: str) -> None:
    """The Log that says nothing (library use, `-q`)."""


class Engine(Protocol):
    """A source of Recordings (ptrace today; audit logs, complain mode and eBPF follow)."""

    @property
    def name(self) -> str:
        """The engine's name, as the Recording's source.engine records it."""
        ...

    def record(self) -> Recording:
        """Observe the workload and return what it did; raise SeccompGenError on failure."""
        ...
