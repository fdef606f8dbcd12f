"""What an AuditLogEngine makes of its inputs, as one comparable value (the audit reader's tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.audit.engine import AuditFilter, AuditLogEngine
from seccomp_gen.recorder.recording import to_json


def recorded(make: Callable[[AuditLogEngine], None], inputs: list[str], filt: AuditFilter, strict: bool
             ) -> dict[str, Any]:
    """The Recording (without its timings) and the messages after `make` read the inputs, or the
    error and where it points: two ways of reading are the same when these are equal."""
    messages: list[str] = []
    engine = AuditLogEngine(inputs, filt, strict=strict, log=messages.append)
    try:
        make(engine)
        doc = to_json(engine.finish())
    except SeccompGenError as exc:
        return {"error": str(exc), "where": (exc.path, exc.line), "log": messages}
    for timing in ("started", "duration_s"):
        doc["source"].pop(timing)
    return {"recording": doc, "log": messages}
