"""What argument-level narrowing decided, as values the report and the findings carry."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NarrowedArg:
    """One restricted argument: the values allowed (after `mask`), named with the `names` family."""

    index: int
    what: str
    mask: int
    names: str
    values: tuple[int, ...]


@dataclass(frozen=True)
class Narrowed:
    """A syscall whose allow rules now hold only the recorded argument values."""

    name: str
    args: tuple[NarrowedArg, ...]
    rules: int  # how many rules replace its unrestricted allow


@dataclass(frozen=True)
class NotNarrowed:
    """A narrowable syscall left as the baseline allows it, and why."""

    name: str
    reason: str
