"""The generate report as GitHub-flavoured markdown, for CI job summaries (`$GITHUB_STEP_SUMMARY`).

Compact and deterministic: the headline numbers, the dangerous calls kept, the argument
restrictions (made, or what --narrow-args would make), what could not be narrowed and why, and what
was observed but not allowed or added. Every cell is made printable and its markdown escaped:
details quote exe paths and other untrusted text, and a `|` would break the table.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from seccomp_gen.generator import risk
from seccomp_gen.generator.minimise import Findings
from seccomp_gen.generator.report import restrictions_line
from seccomp_gen.ground.text import printable


def _cell(text: object) -> str:
    """A table cell: printable, on one line, with markdown's table and HTML characters escaped."""
    flat = " ".join(printable(str(text)).split())
    return html.escape(flat, quote=False).replace("|", "\\|").replace("`", "'") or "-"


def _code(name: str) -> str:
    return f"`{_cell(name)}`"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines.extend("| " + " | ".join(str(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)


def _headline(name: str, findings: Findings, ex: risk.Explanation) -> str:
    rows: list[list[object]] = [
        ["allowed syscalls", f"{len(findings.allowed)} (baseline {_cell(findings.baseline)}: "
                             f"{len(findings.baseline_allowed)}, {findings.reduction_percent}% fewer)"],
        ["argument rules", _cell(restrictions_line(ex))],
        ["dangerous calls removed", len(ex.dangerous_removed)],
        ["dangerous calls kept", len(ex.dangerous_kept)],
        ["observed but not allowed", len(findings.denied)],
        ["added beyond what was observed", f"{len(findings.added)} ({len(findings.widenings)} widen the baseline)"],
    ]
    return f"### seccomp profile {_code(name)}\n\n" + _table(["", ""], rows)


def _sections(findings: Findings, ex: risk.Explanation) -> list[str]:
    parts = []
    if ex.dangerous_kept:
        rows = [[_code(a.name), _cell(a.risk.title),
                 _cell(risk.restriction(a.narrowed)) if a.narrowed is not None and ex.narrow_applied else "-",
                 _cell(a.risk.why)] for a in ex.dangerous_kept]
        parts.append("#### Dangerous calls kept\n\n" + _table(["syscall", "risk class", "restriction", "why"], rows))
    rows = [[_cell(cls.title), str(len(members)), " ".join(_code(a.name) for a in members)]
            for cls, members in risk.by_class(ex.allowed)]
    parts.append("#### Allowed syscalls by risk class\n\n" + _table(["risk class", "n", "syscalls"], rows))
    if ex.narrowed:
        title = "Argument restrictions" if ex.narrow_applied else "Argument restrictions `--narrow-args` would make"
        rows = [[_code(n.name), str(n.rules), _cell(risk.restriction(n))] for n in ex.narrowed]
        parts.append(f"#### {title}\n\n" + _table(["syscall", "rules", "allowed values"], rows))
    if findings.not_narrowed:
        rows = [[_code(n.name), _cell(n.reason)] for n in findings.not_narrowed]
        parts.append("#### Not narrowed\n\n" + _table(["syscall", "why"], rows))
    if findings.denied:
        rows = [[_code(d.name), _cell(",".join(a.removeprefix("SCMP_ARCH_") for a in d.arches)), _cell(d.kind),
                 "allowed (--allow-extra)" if d.allowed_extra else "**denied**" if d.counts_as_extra else "handled",
                 _cell(d.detail)] for d in findings.denied]
        parts.append("#### Observed but not allowed\n\n" + _table(["syscall", "arch", "reason", "profile", "detail"],
                                                                 rows))
    if findings.added:
        rows = [[_code(a.name), _cell(a.origin), "**yes**" if a.widening else "no", _cell(a.detail)]
                for a in findings.added]
        parts.append("#### Added beyond what was observed\n\n" + _table(["syscall", "for", "widens baseline", "why"],
                                                                       rows))
    return parts


def to_markdown(name: str, findings: Findings, files: Sequence[str] = ()) -> str:
    """The report for a CI job summary."""
    ex = risk.explain(findings)
    parts = [_headline(name, findings, ex), *_sections(findings, ex)]
    parts.extend(f"> warning: {_cell(w)}" for w in findings.warnings)
    if files:
        parts.append("Wrote: " + " ".join(_code(f) for f in files))
    return "\n\n".join(parts) + "\n"
