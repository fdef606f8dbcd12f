"""The generate report: what the profile allows against the baseline, what was added and why, what
was observed but not allowed, and what is left explained (risk.py: each allowed call's risk class,
the argument restrictions --narrow-args made or would make, what could not be narrowed and why).
Text (tabulate) for people, JSON for machines, markdown (report_markdown.py) for CI job summaries;
all deterministic."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from tabulate import tabulate

from seccomp_gen.generator import risk
from seccomp_gen.generator.minimise import Findings
from seccomp_gen.ground.jsonio import dumps_stable
from seccomp_gen.ground.text import printable


def to_json(name: str, findings: Findings, files: Sequence[str] = ()) -> dict[str, Any]:
    ctx = findings.context
    return {
        "name": name,
        "baseline": {"name": findings.baseline, "provenance": findings.provenance},
        "context": {
            "arch_map": [{"architecture": e.architecture, "subArchitectures": list(e.sub_architectures)}
                         for e in ctx.arch_map],
            "capabilities": sorted(ctx.caps),
            "runtime": ctx.runtime,
            "runtime_why": findings.runtime_note,
            "no_new_privileges": ctx.no_new_privileges,
        },
        "default": {"action": findings.default_action, "errno": findings.default_errno},
        "allowed": {"count": len(findings.allowed), "baseline_count": len(findings.baseline_allowed),
                    "reduction_percent": findings.reduction_percent, "names": list(findings.allowed)},
        "removed": list(findings.removed),
        "added": [{"name": a.name, "origin": a.origin, "why": a.detail, "widens_baseline": a.widening}
                  for a in findings.added],
        "not_allowed": [{"name": d.name, "arches": list(d.arches), "reason": d.kind, "detail": d.detail,
                         "allowed_extra": d.allowed_extra, "fails_with_fail_on_extra": d.counts_as_extra
                         and not d.allowed_extra} for d in findings.denied],
        "not_judged": [{"name": u.name, "arch": u.arch, "args": list(u.args), "detail": u.detail}
                       for u in findings.unjudged],
        "in_some_runs": {"runs": findings.runs, "syscalls": {a: dict(n) for a, n in findings.in_some_runs.items()}},
        "warnings": list(findings.warnings),
        "widened_arches": list(findings.widened_arches),
        "learning": findings.learning,
        "added_by_later_recordings": [{"name": c.name, "arch": c.arch, "recording": c.recording,
                                       "nodes": list(c.nodes), "first_exe": c.exe, "count": c.count}
                                      for c in findings.added_later],
        "narrowing": {"applied": findings.narrow_applied,
                      "narrowed": [{"name": n.name, "rules": n.rules,
                                    "args": [{"index": a.index, "what": a.what, "mask": a.mask,
                                              "values": list(a.values), "names": risk.arg_names(n, a)}
                                             for a in n.args]} for n in findings.narrowed],
                      "not_narrowed": [{"name": n.name, "reason": n.reason} for n in findings.not_narrowed]},
        "explained": risk.to_json(risk.explain(findings)),
        "files": list(files),
    }


def to_json_text(name: str, findings: Findings, files: Sequence[str] = ()) -> str:
    """to_json() as the stable JSON text the CLI prints."""
    return dumps_stable(to_json(name, findings, files))


def _wrap(text: str, width: int = 70) -> str:
    """Untrusted text (details quote exe paths) made printable, then wrapped to the column."""
    return "\n".join(textwrap.wrap(printable(text), width)) or "-"


def restrictions_line(ex: risk.Explanation) -> str:
    """The headline's argument-restriction figure, said the same way in text and markdown."""
    head = ex.headline()
    if ex.narrow_applied:
        return (f"{head['argument_restricted_rules']} rules hold recorded argument values, for "
                f"{head['argument_restricted_syscalls']} syscalls (--narrow-args)")
    if head["would_narrow_syscalls"]:
        return (f"none; --narrow-args would narrow {head['would_narrow_syscalls']} syscalls into "
                f"{head['would_narrow_rules']} rules")
    return "none"


def _explained(findings: Findings, ex: risk.Explanation) -> list[str]:
    """The text sections that explain what is left: classes, restrictions, what was not narrowed."""
    parts = []
    mark = {a.name for a in ex.allowed if a.narrowed is not None and ex.narrow_applied}
    rows = [[cls.title + (" (!)" if cls.dangerous else ""), len(members),
             _wrap(" ".join(a.name + ("*" if a.name in mark else "") for a in members), 60),
             _wrap(cls.why, 50) if cls.dangerous else ""] for cls, members in risk.by_class(ex.allowed)]
    parts.append("Allowed syscalls by risk class ((!) dangerous, with why; * argument-restricted):\n"
                 + tabulate(rows, headers=["risk class", "n", "syscalls", "why"], tablefmt="simple"))
    if ex.narrowed:
        title = ("Argument restrictions (--narrow-args): each rule holds only recorded values" if ex.narrow_applied
                 else "Argument restrictions --narrow-args would make (not applied)")
        rows = [[n.name, risk.class_of(n.name).title, n.rules, _wrap(risk.restriction(n), 70)] for n in ex.narrowed]
        parts.append(f"{title}:\n" + tabulate(rows, headers=["syscall", "risk class", "rules", "allowed values"],
                                              tablefmt="simple"))
    if findings.not_narrowed:
        rows = [[n.name, _wrap(n.reason, 90)] for n in findings.not_narrowed]
        parts.append("Not narrowed (kept as the baseline allows them):\n"
                     + tabulate(rows, headers=["syscall", "why"], tablefmt="simple"))
    return parts


def to_text(name: str, findings: Findings, files: Sequence[str] = ()) -> str:
    ctx = findings.context
    ex = risk.explain(findings)
    arches = "; ".join(
        e.architecture + (f" + {', '.join(e.sub_architectures)}" if e.sub_architectures else "") for e in ctx.arch_map
    )
    errno = f" (errno {findings.default_errno})" if findings.default_errno is not None else ""
    head = [
        ["profile", name],
        ["baseline", findings.baseline],
        ["provenance", _wrap(findings.provenance, 90)],
        ["context", f"{arches}; capabilities: {', '.join(sorted(ctx.caps)) or 'none'}; runtime {ctx.runtime}; "
                    f"no-new-privileges {'on' if ctx.no_new_privileges else 'OFF'}"],
        *([["runtime", _wrap(findings.runtime_note, 90)]] if findings.runtime_note else []),
        ["default action", findings.default_action + errno],
        ["allowed", f"{len(findings.allowed)} syscalls, against {len(findings.baseline_allowed)} in the baseline "
                    f"({findings.reduction_percent}% smaller attack surface)"],
        ["argument rules", restrictions_line(ex)],
        ["dangerous calls", f"{len(ex.dangerous_removed)} removed, {len(ex.dangerous_kept)} kept"
                            + (f" ({', '.join(a.name for a in ex.dangerous_kept)})" if ex.dangerous_kept else "")],
    ]
    parts = [tabulate(head, tablefmt="plain"), *_explained(findings, ex)]
    if findings.added:
        rows = [[a.name, a.origin, "YES" if a.widening else "no", _wrap(a.detail)] for a in findings.added]
        parts.append("Added beyond what was observed:\n"
                     + tabulate(rows, headers=["syscall", "for", "widens baseline", "why"], tablefmt="simple"))
    if findings.denied:
        rows = [[d.name, ",".join(a.removeprefix("SCMP_ARCH_") for a in d.arches), d.kind,
                 "allowed (--allow-extra)" if d.allowed_extra else ("handled" if not d.counts_as_extra else "DENIED"),
                 _wrap(d.detail)] for d in findings.denied]
        parts.append("Observed but not allowed by the baseline:\n"
                     + tabulate(rows, headers=["syscall", "arch", "reason", "profile", "detail"], tablefmt="simple"))
    if findings.unjudged:
        rows = [[u.name, u.arch.removeprefix("SCMP_ARCH_"), ",".join(f"arg{i}" for i in u.args), _wrap(u.detail)]
                for u in findings.unjudged]
        parts.append("Argument rules not judged (the recording lacks the values they compare):\n"
                     + tabulate(rows, headers=["syscall", "arch", "compares", "detail"], tablefmt="simple"))
    if findings.in_some_runs:
        calls = " ".join(f"{name}({arch.removeprefix('SCMP_ARCH_')}):{runs}/{findings.runs}"
                         for arch, names in findings.in_some_runs.items() for name, runs in names.items())
        parts.append(f"Seen in only some of {findings.runs} runs (timing-dependent; more runs may show more):\n"
                     + textwrap.fill(calls, 100))
    if findings.removed:
        parts.append(f"Removed ({len(findings.removed)} the baseline allows but the workload never called):\n"
                     + textwrap.fill(" ".join(findings.removed), 100))
    for warning in findings.warnings:
        parts.append(f"warning: {printable(warning)}")
    if findings.added_later:
        rows = [[c.name, c.arch.removeprefix("SCMP_ARCH_"), ", ".join(c.nodes) or "-", _wrap(c.exe, 40),
                 _wrap(c.recording, 40)] for c in findings.added_later]
        parts.append("Added by the later recordings (production), not in the first:\n"
                     + tabulate(rows, headers=["syscall", "arch", "nodes", "first exe", "recording"],
                                tablefmt="simple"))
    if files:
        parts.append("Wrote: " + " ".join(printable(f) for f in files))
    return "\n\n".join(parts) + "\n"
