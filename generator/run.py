"""`generate` as one call: recordings + baseline + context flags -> the Result and its artifacts.

Every check runs and every artifact renders in memory before anything is written (the CLI then
writes the set atomically), so a failure leaves nothing half-done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from seccomp_gen.generator import baselines, context, emit
from seccomp_gen.generator.minimise import Result, minimise
from seccomp_gen.generator.profile import parse_errno
from seccomp_gen.recorder import recording


@dataclass(frozen=True)
class Request:
    """What `generate` was asked for (the CLI's flags)."""

    recordings: Sequence[str]
    name: str
    baseline: str = baselines.DEFAULT
    runtime: str = "crun"
    no_new_privileges: bool = True
    caps: Sequence[str] = ()
    arches: Sequence[str] = ()
    role: str = "worker"
    allow_extra: Sequence[str] = ()
    default_errno: str | None = None
    allow_arches: Sequence[str] = ()


def generate(req: Request) -> tuple[Result, dict[str, bytes]]:
    """The minimised profile and every artifact (file name -> bytes) for `req`."""
    emit.validate_name(req.name)
    emit.validate_role(req.role)
    errno = parse_errno(req.default_errno) if req.default_errno is not None else None
    loaded = [recording.load(path) for path in req.recordings]
    merged = recording.merge(loaded)
    base = baselines.load(req.baseline)
    ctx = context.build(
        recorded_arches=merged.arches(),
        host_arches=[r.source.host_arch for r in loaded if r.source.host_arch],
        arches=req.arches,
        caps=req.caps,
        runtime=req.runtime,
        no_new_privileges=req.no_new_privileges,
    )
    result = minimise(merged, base, ctx, allow_extra=req.allow_extra, default_errno=errno,
                      allow_arches=req.allow_arches)
    return result, emit.render(req.name, result, req.role)
