"""How a Recording is shown: `show`'s table, and the summary `record` prints when it has written one.

Paths, argv, exe names and messages quoting them come from the workload or a log: each goes through
`printable`, so a terminal shows escapes, never acts on them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Protocol

from seccomp_gen.ground.text import printable

if TYPE_CHECKING:
    from seccomp_gen.recorder.recording import Recording

#: tabulate's "simple" format: columns two spaces apart, each at least two wider than its header.
_GAP, _MIN_PADDING = "  ", 2


class Subject(Protocol):
    """One row of `record --list-subjects` (recorder/audit/subjects.py's Subject: the core does
    not import an engine)."""

    @property
    def label(self) -> str | None: ...
    @property
    def level(self) -> str | None: ...
    @property
    def records(self) -> int: ...
    @property
    def exes(self) -> Sequence[str]: ...
    @property
    def comms(self) -> Sequence[str]: ...
    @property
    def nodes(self) -> Collection[str]: ...


def table(rec: Recording, path: str) -> str:
    """`seccomp-gen show`: the header, incomplete reasons and warnings, then one row per syscall."""
    src = rec.source
    command = " ".join(printable(part) for part in src.command) or "-"
    lines = [f"{printable(path)}: engine {printable(src.engine)}, command {command}, "
             f"exit status {rec.exit_status}, {'complete' if rec.complete else 'INCOMPLETE'}"]
    lines.extend(f"  incomplete: {printable(reason)}" for reason in rec.incomplete_reasons)
    lines.extend(f"  warning: {printable(warning)}" for warning in rec.warnings)
    rows = [
        (arch, name, use.count, use.first.pid, printable(use.first.exe),
         " ".join(f"arg{i}={','.join(hex(v) for v in vals)}" for i, vals in use.args.items()))
        for arch in rec.arches()
        for name, use in sorted(rec.syscalls[arch].items())
    ]
    lines.append(simple_table(rows, ["arch", "syscall", "count", "first pid", "first exe", "args"]))
    lines.append(f"{sum(len(rec.syscalls[a]) for a in rec.arches())} distinct syscalls, "
                 f"{rec.total_calls()} calls, {len(rec.processes)} processes"
                 + (f", {rec.runs} runs" if rec.runs > 1 else ""))
    lines.extend(_some_runs(rec))
    return "\n".join(lines)


def _some_runs(rec: Recording) -> list[str]:
    """The calls seen in only some runs: their appearance depends on timing."""
    found = rec.in_some_runs()
    if not found:
        return []
    calls = ", ".join(f"{name}({arch.removeprefix('SCMP_ARCH_')}) {runs}/{rec.runs}"
                      for arch, names in found.items() for name, runs in names.items())
    return [f"seen in only some of {rec.runs} runs (timing-dependent): {calls}"]


def summary(rec: Recording, output: str) -> list[str]:
    """What `record` says on stderr after writing `output`: warnings, incompleteness, totals."""
    lines = [f"seccomp-gen: warning: {printable(warning)}" for warning in rec.warnings]
    lines.extend(f"seccomp-gen: incomplete: {printable(reason)}" for reason in rec.incomplete_reasons)
    distinct = sum(len(uses) for uses in rec.syscalls.values())
    lines.extend(f"seccomp-gen: {line}" for line in _some_runs(rec))
    lines.append(f"seccomp-gen: {rec.total_calls()} syscalls ({distinct} distinct, arches: "
                 f"{', '.join(rec.arches()) or 'none'}) from {len(rec.processes)} processes in "
                 f"{rec.source.duration_s:.2f} s -> {printable(output)}")
    return lines


def subjects(rows: Sequence[Subject]) -> str:
    """`record --list-subjects`: one row per subj= label (its SELinux level: one pod under CRI-O),
    with example programs and nodes, so a user can pick the pod to record with --subj."""
    table_rows = [
        (printable(row.label) if row.label is not None else "(no subj=)",
         printable(row.level) if row.level is not None else "-",
         row.records,
         printable(", ".join(row.exes)) or "-",
         printable(", ".join(row.comms)) or "-",
         printable(_few(sorted(row.nodes))) or "-")
        for row in rows
    ]
    lines = [simple_table(table_rows, ["subj", "level", "records", "exe", "comm", "nodes"])]
    lines.append(f"{len(rows)} label(s); record one with --subj LABEL or --subj LEVEL")
    return "\n".join(lines)


def _few(names: Sequence[str], shown: int = 4) -> str:
    """At most `shown` names, then how many more: a label may run on hundreds of nodes."""
    more = f" (+{len(names) - shown})" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def simple_table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """tabulate(rows, headers) in its default format. Importing tabulate costs ~20 ms (it pulls in
    importlib.metadata and email), a third of `show`'s start-up budget, so the tables these
    reports print - int columns and plain ASCII text - are laid out here; anything else (wide or
    non-ASCII characters, text tabulate would read as a number) still goes to tabulate."""
    laid_out = _plain_table(rows, headers)
    if laid_out is not None:
        return laid_out
    from tabulate import tabulate

    return tabulate(rows, headers=list(headers))


def _plain_text(cell: object) -> bool:
    """Text tabulate shows as it is, left-aligned, one character per column: printable ASCII
    without surrounding blanks that it would not read as a number or a bool."""
    if not isinstance(cell, str):
        return False
    if not cell:
        return True
    numeric = cell[0].isdigit() or cell[0] in "+-.," or cell.lower().startswith(("inf", "nan"))
    return (cell.isascii() and cell.isprintable() and cell == cell.strip() and not numeric
            and cell not in ("True", "False"))


def _plain_table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str | None:
    """The table when every column is all ints (right-aligned) or all plain text (left), else None."""
    if any(len(row) != len(headers) for row in rows) or not all(_plain_text(h) for h in headers):
        return None
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in headers]
    if len(columns) != len(headers):
        return None
    right: list[bool] = []
    for column in columns:
        numbers = bool(column) and all(type(cell) is int for cell in column)
        if not numbers and not all(_plain_text(cell) for cell in column):
            return None
        right.append(numbers)
    widths = [max([len(h) + _MIN_PADDING, *(len(str(cell)) for cell in column)])
              for h, column in zip(headers, columns, strict=True)]

    def line(cells: Sequence[object]) -> str:
        return _GAP.join(str(cell).rjust(width) if r else str(cell).ljust(width)
                         for cell, width, r in zip(cells, widths, right, strict=True)).rstrip()

    return "\n".join([line(headers), _GAP.join("-" * width for width in widths), *(line(row) for row in rows)])
