"""recorder/data/audit.json, loaded once: record types, seccomp action codes, loss evidence."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class LossPattern:
    regex: re.Pattern[str]
    what: str


@dataclass(frozen=True)
class AuditTables:
    type_numbers: dict[str, int]  # "SECCOMP" -> 1326
    actions: dict[int, str]  # 0x7ffc0000 -> "SCMP_ACT_LOG"
    action_mask: int
    loss_patterns: tuple[LossPattern, ...]
    hex_fields: frozenset[str]
    serial_exempt: tuple[str, ...]  # type prefixes whose serials are not the kernel's (auditd's own)
    standalone: tuple[str, ...]  # type prefixes that are events of their own: a log with them is unfiltered

    def action_of(self, code: int) -> str:
        return self.actions.get(code & self.action_mask, f"code_0x{code & self.action_mask:08x}")


@functools.lru_cache(maxsize=1)
def tables() -> AuditTables:
    raw: dict[str, Any] = json.loads(resources.files("seccomp_gen.recorder").joinpath("data/audit.json").read_text())
    return AuditTables(
        type_numbers=dict(raw["record_types"]),
        actions={int(code, 16): name for code, name in raw["seccomp_actions"].items()},
        action_mask=int(raw["seccomp_action_mask"], 16),
        loss_patterns=tuple(LossPattern(re.compile(p["regex"]), p["what"]) for p in raw["loss_patterns"]),
        hex_fields=frozenset(raw["hex_encoded_fields"]),
        serial_exempt=tuple(raw["serial_exempt_prefixes"]),
        standalone=tuple(raw["standalone_event_prefixes"]),
    )
