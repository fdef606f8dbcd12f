"""recorder/data/audit.json, loaded once: record types, loss evidence, hex-encoded fields."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from seccomp_gen.ground import kernel
from seccomp_gen.ground.data import Each, load_table

_SHAPE = {
    "_about": str,
    "record_types": Each(int),
    "loss_patterns": [{"regex": str, "needle": str, "what": str}],
    "hex_encoded_fields": [str],
    "serial_exempt_prefixes": [str],
    "standalone_event_prefixes": [str],
    "line_prefixes": {"node": str, "timestamps": [str], "forms": [{"regex": str, "what": str}]},
}


@dataclass(frozen=True)
class LossPattern:
    regex: re.Pattern[str]
    needle: str  # a literal every match holds: lines without any needle are not searched
    what: str


@dataclass(frozen=True)
class AuditTables:
    type_numbers: dict[str, int]  # "SECCOMP" -> 1326
    loss_patterns: tuple[LossPattern, ...]
    hex_fields: frozenset[str]
    serial_exempt: tuple[str, ...]  # type prefixes whose serials are not the kernel's (auditd's own)
    standalone: tuple[str, ...]  # type prefixes that are events of their own: a log with them is unfiltered
    prefixes: tuple[re.Pattern[str], ...]  # what may stand before a header; groups `node`, `host`

    @functools.cached_property
    def loss_needles(self) -> tuple[str, ...]:
        """The needles to look for: one that holds another is found whenever it is, so it is left out."""
        needles = dict.fromkeys(p.needle for p in self.loss_patterns)
        return tuple(n for n in needles if not any(other != n and other in n for other in needles))

    @staticmethod
    def action_of(code: int) -> str:
        """The seccomp action of a SECCOMP record's code= (the filter's return value)."""
        return kernel.action_of_code(code)


@functools.lru_cache(maxsize=1)
def tables() -> AuditTables:
    raw = load_table("seccomp_gen.recorder", "data/audit.json", _SHAPE)
    return AuditTables(
        type_numbers=dict(raw["record_types"]),
        loss_patterns=tuple(LossPattern(re.compile(p["regex"]), p["needle"], p["what"]) for p in raw["loss_patterns"]),
        hex_fields=frozenset(raw["hex_encoded_fields"]),
        serial_exempt=tuple(raw["serial_exempt_prefixes"]),
        standalone=tuple(raw["standalone_event_prefixes"]),
        prefixes=_prefix_forms(raw["line_prefixes"]),
    )


def _prefix_forms(raw: dict[str, Any]) -> tuple[re.Pattern[str], ...]:
    """The line-prefix forms with their {node} and {timestamp} placeholders filled in."""
    timestamp = "|".join(f"(?:{form})" for form in raw["timestamps"])
    return tuple(re.compile(form["regex"].replace("{node}", raw["node"]).replace("{timestamp}", timestamp))
                 for form in raw["forms"])
