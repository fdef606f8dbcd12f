"""`generate` as one call: recordings + baseline + context flags -> the Result and its artifacts.

Every check runs and every artifact renders in memory before anything is written (the CLI then
writes the set atomically), so a failure leaves nothing half-done.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from seccomp_gen.generator import baselines, context, emit, later, tables
from seccomp_gen.generator.minimise import Findings, Result, minimise
from seccomp_gen.generator.profile import parse_errno
from seccomp_gen.recorder import recording


@dataclass(frozen=True)
class Request:
    """What `generate` was asked for (the CLI's flags)."""

    recordings: Sequence[str]
    name: str
    baseline: str = baselines.DEFAULT
    runtime: str | None = None  # None: the runtime of the baseline's loader (data/loaders.json)
    no_new_privileges: bool = True
    caps: Sequence[str] = ()
    arches: Sequence[str] = ()
    role: str = "worker"
    allow_extra: Sequence[str] = ()
    default_errno: str | None = None
    allow_arches: Sequence[str] = ()
    spo_api_version: str = "v1"
    narrow_args: bool = False
    on_miss: str = "deny"


def generate(req: Request) -> tuple[Result, dict[str, bytes]]:
    """The minimised profile and every artifact (file name -> bytes) for `req`."""
    emit.validate_name(req.name)
    emit.validate_role(req.role)
    errno = parse_errno(req.default_errno) if req.default_errno is not None else None
    loaded = [recording.load(path) for path in req.recordings]
    merged = recording.merge(loaded)
    base = baselines.load(req.baseline)
    loader = tables.loader_of(req.baseline if req.baseline in baselines.BUNDLED else "file")
    runtime = req.runtime or loader.runtime
    ctx = context.build(
        recorded_arches=merged.arches(),
        host_arches=[r.source.host_arch for r in loaded if r.source.host_arch],
        arches=req.arches,
        caps=req.caps,
        runtime=runtime,
        no_new_privileges=req.no_new_privileges,
    )
    result = minimise(merged, base, ctx, allow_extra=req.allow_extra, default_errno=errno,
                      allow_arches=req.allow_arches, narrow_args=req.narrow_args,
                      on_miss=req.on_miss)
    findings = _with_runtime_note(result.findings, req.runtime, loader)
    findings = dataclasses.replace(findings, added_later=later.added_after_first(req.recordings, loaded))
    result = dataclasses.replace(result, findings=findings)
    return result, emit.render(req.name, result, req.role, req.spo_api_version)


def _with_runtime_note(findings: Findings, asked: str | None, loader: tables.Loader) -> Findings:
    """Say which runtime the profile is for and why; warn when it is not the one the loader runs."""
    runtime = findings.context.runtime
    if asked is None:
        note = f"{runtime}, the runtime of {loader.loader} ({loader.why})"
        return dataclasses.replace(findings, runtime_note=note)
    note = f"{runtime} (--runtime)"
    warnings = findings.warnings
    if runtime != loader.runtime:
        warnings = (*warnings, f"the profile is made for {runtime}, but {loader.loader} runs {loader.runtime} "
                               f"({loader.why}): {runtime}'s needs are in it, not {loader.runtime}'s, and it may "
                               "not start containers there")
    return dataclasses.replace(findings, runtime_note=note, warnings=warnings)
