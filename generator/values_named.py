"""Names for syscall argument values (AF_NETLINK, SOCK_STREAM|SOCK_CLOEXEC, TIOCGWINSZ, PR_GET_DUMPABLE),
so reports say what a narrowed rule allows and what a run was denied in the kernel's own words.

The names are data (data/arg_names.json, written by scripts/build_arg_names.py from the kernel's and
the C library's headers); a family is what narrowable.json calls an argument's `names`. A value the
table cannot name completely is shown as a number: a half-decoded flag word would mislead.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from seccomp_gen.ground.data import Each, load_table

_SHAPE: dict[str, Any] = {
    "_about": str, "packages": Each(str),
    "families": Each({"why": str, "hex": bool, "names": Each(int), "aliases": Each(str), "headers": [str],
                      "?flags": Each(int), "?base_mask": int, "?base_last": bool, "?base_family": str,
                      "?by_level": Each(str)}),
}
#: The family whose names are socket option levels (what an SO optname is decoded by).
LEVELS = "SOL"


@dataclass(frozen=True)
class Family:
    """One family: value -> name, the flags ORed into a value, and how the rest is named."""

    hex: bool
    by_value: Mapping[int, str]
    flags: tuple[tuple[int, str], ...]  # (bit, name), lowest bit first
    base_mask: int
    base_last: bool
    base_family: str
    by_level: Mapping[str, str]


@functools.lru_cache(maxsize=1)
def table() -> dict[str, Family]:
    """The families of data/arg_names.json."""
    doc = load_table("seccomp_gen.generator", "data/arg_names.json", _SHAPE)
    return {key: Family(f["hex"], {v: n for n, v in f["names"].items()},
                        tuple(sorted((v, n) for n, v in f.get("flags", {}).items())), f.get("base_mask", 0),
                        f.get("base_last", False), f.get("base_family", ""), dict(f.get("by_level", {})))
            for key, f in doc["families"].items()}


def number(family: str, value: int) -> str:
    """The value as a number, in the family's radix: ioctl requests and flag words (and the values
    of a family the table lacks) in hex."""
    fam = table().get(family)
    flagged = fam is not None and any(value & bit for bit, _name in fam.flags)
    return hex(value) if fam is None or fam.hex or flagged else str(value)


def _flags(fam: Family, value: int) -> str | None:
    """A flag word as BASE|FLAG|..., or None when some bit has no name."""
    shown = [name for bit, name in fam.flags if value & bit]
    rest = value & ~sum(bit for bit, _name in fam.flags if value & bit)
    if rest & ~fam.base_mask:
        return None
    base = table()[fam.base_family] if fam.base_family else fam
    if rest in base.by_value:
        shown.insert(len(shown) if fam.base_last else 0, base.by_value[rest])
    elif rest:
        return None
    return "|".join(shown) or None


def name_of(family: str, value: int, level: int | None = None) -> str:
    """The name of `value` in `family` (AF, SOCK, PR, IOCTL, F, PER, SOL, SO, CLONE...), or the
    number; a socket option (SO) is named for its `level`, and is a number when the level is unknown."""
    fam = table().get(family)
    if fam is None:
        return number(family, value)
    if fam.by_level:
        sub = fam.by_level.get(name_of(LEVELS, level)) if level is not None else None
        return name_of(sub, value) if sub is not None else str(value)
    if value in fam.by_value:
        return fam.by_value[value]
    named = _flags(fam, value) if fam.flags else None
    return named if named is not None else number(family, value)


def label(family: str, value: int, levels: Iterable[int] = ()) -> str:
    """The value's name alone (the number when it has none); an option named differently at each
    of `levels` shows each name (SO_DEBUG/TCP_NODELAY)."""
    fam = table().get(family)
    if fam is not None and fam.by_level:
        names = sorted({name_of(family, value, level) for level in levels} - {str(value)})
        return "/".join(names) or str(value)
    return name_of(family, value)


def shown(family: str, value: int, levels: Iterable[int] = ()) -> str:
    """NAME (number) for reports - `AF_NETLINK (16)`, `TIOCGWINSZ (0x5413)` - or the number alone."""
    fam = table().get(family)
    num = str(value) if fam is not None and fam.by_level else number(family, value)
    text = label(family, value, levels)
    return num if text == num else f"{text} ({num})"
