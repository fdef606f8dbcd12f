"""Tables of one benchmark run: plain text for the terminal and Markdown for the README."""

from __future__ import annotations

from typing import Any

NATIVE, STRACE, STRACE_PINNED = "native", "strace -f", "strace -f, pinned"
RECORD_DEFAULT = "record (default: one-stop, pinned)"
RAW = "ausearch --raw -m SECCOMP,SYSCALL"


def _ratio(value: float, base: float | None) -> float | None:
    return value / base if base else None


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


Row = tuple[str, str, dict[str, Any], float | None, float | None, float | None, float | None]


def record_rows(data: dict[str, Any]) -> list[Row]:
    """(workload, runner, cell, x native, x strace, x pinned strace, own time x native) per cell."""
    rows = []
    for wname, cells in data.get("record", {}).items():
        native = cells.get(NATIVE, {}).get("wall_s")
        strace = cells.get(STRACE, {}).get("wall_s")
        pinned = cells.get(STRACE_PINNED, {}).get("wall_s")
        own_native = cells.get(NATIVE, {}).get("self_s")
        for rname, cell in cells.items():
            rows.append((wname, rname, cell, _ratio(cell["wall_s"], native), _ratio(cell["wall_s"], strace),
                         _ratio(cell["wall_s"], pinned), _ratio(cell.get("self_s", 0.0), own_native)))
    return rows


def text_table(data: dict[str, Any]) -> str:
    lines = []
    if "record" in data:
        lines.append(f"{'workload':22} {'runner':36} {'wall s':>8} {'cpu s':>8} {'/native':>8} {'/strace':>8} "
                     f"{'/pinned':>8} {'own/nat':>8}  note")
        for wname, rname, cell, xn, xs, xp, xo in record_rows(data):
            lines.append(f"{wname:22} {rname:36} {cell['wall_s']:8.3f} {cell['cpu_s']:8.3f} {_fmt(xn):>8} "
                         f"{_fmt(xs):>8} {_fmt(xp):>8} {_fmt(xo):>8}  {cell.get('note', '')[:100]}")
    if "generate" in data:
        gen = data["generate"]
        lines.append(f"\ngenerate, {gen['syscalls']} syscalls ({gen['distinct_names']} names), all artifacts: "
                     f"wall {gen['wall_s']:.3f} s, cpu {gen['cpu_s']:.3f} s (target < {gen['target_s']} s)")
    if "audit" in data:
        audit = data["audit"]
        raw = audit["runs"].get(RAW, {}).get("mb_per_s")
        lines.append(f"\naudit log {audit['log_mb']:.0f} MB, {audit['log_lines']} lines")
        lines.append(f"{'reader':50} {'MB/s':>7} {'wall s':>8} {'cpu s':>8} {'RSS MB':>7} {'/raw':>6}")
        for name, cell in audit["runs"].items():
            lines.append(f"{name:50} {cell['mb_per_s']:7.1f} {cell['wall_s']:8.3f} {cell['cpu_s']:8.3f} "
                         f"{cell['maxrss_mb']:7.0f} {_fmt(_ratio(cell['mb_per_s'], raw)):>6}")
    return "\n".join(lines)


def _record_cell(cell: dict[str, Any] | None, native: float | None, strace: float | None,
                 pinned: float | None) -> str:
    if cell is None:
        return "-"
    parts = [f"{x:.2g}x native" if (x := _ratio(cell["wall_s"], native)) else "",
             f"{x:.2f}x strace" if (x := _ratio(cell["wall_s"], strace)) else "",
             f"{x:.2f}x pinned strace" if (x := _ratio(cell["wall_s"], pinned)) else ""]
    note = ", incomplete" if "incomplete" in cell.get("note", "") else ""
    ratios = ", ".join(p for p in parts if p)
    return f"{cell['wall_s']:.3g} s ({ratios}{note})" if ratios else f"{cell['wall_s']:.3g} s{note}"


def _own_time_table(record: dict[str, Any]) -> list[str]:
    """The programs' own time (their clock, from main() or before the imports to the end) per runner:
    the slowdown a recorded program itself sees, without the recorder's fixed start-up."""
    timed = {w: cells for w, cells in record.items() if "self_s" in cells.get(NATIVE, {})}
    if not timed:
        return []
    runners = [r for r in dict.fromkeys(r for cells in timed.values() for r in cells) if r != NATIVE]
    out = ["| program's own time | native | " + " | ".join(runners) + " |",
           "|---" * (len(runners) + 2) + "|"]
    for wname, cells in timed.items():
        own = cells[NATIVE]["self_s"]
        row = [f"{cells[r]['self_s']:.3g} s ({cells[r]['self_s'] / own:.2g}x)" if "self_s" in cells.get(r, {})
               else "-" for r in runners]
        out.append(f"| {wname} | {own:.3g} s | " + " | ".join(row) + " |")
    return [*out, ""]


def markdown(data: dict[str, Any]) -> str:
    m = data["machine"]
    out = [f"Machine: {m['cpus']} cores ({m['machine']}), kernel {m['kernel']}, Python {m['python']}; "
           f"median of {data['reps']} runs after a discarded one{' (--quick sizes)' if data['quick'] else ''}.", ""]
    if "record" in data:
        runners = list(dict.fromkeys(r for cells in data["record"].values() for r in cells))
        out.append("| workload | " + " | ".join(runners) + " |")
        out.append("|---" * (len(runners) + 1) + "|")
        for wname, cells in data["record"].items():
            native, strace = cells.get(NATIVE, {}).get("wall_s"), cells.get(STRACE, {}).get("wall_s")
            pinned = cells.get(STRACE_PINNED, {}).get("wall_s")
            row = [f"{cells[NATIVE]['wall_s']:.3g} s" if r == NATIVE else
                   _record_cell(cells.get(r), native, strace, pinned) for r in runners]
            out.append(f"| {wname} | " + " | ".join(row) + " |")
        out.append("")
        out.extend(_own_time_table(data["record"]))
    if "generate" in data:
        gen = data["generate"]
        out.append(f"`seccomp-gen generate` (all six artifacts, {gen['syscalls']} syscalls / {gen['distinct_names']} "
                   f"names on x86_64 + i386): {gen['wall_s']:.3f} s wall including interpreter start "
                   f"(target < {gen['target_s']} s).")
        out.append("")
    if "audit" in data:
        audit = data["audit"]
        raw = audit["runs"].get(RAW, {}).get("mb_per_s")
        out.append(f"| reading a {audit['log_mb']:.0f} MB audit.log | MB/s | x ausearch --raw | peak RSS |")
        out.append("|---|---|---|---|")
        for name, cell in audit["runs"].items():
            label = name if "quarter" not in name else f"{name.split(' (')[0]} ({cell['mb']:.0f} MB log)"
            out.append(f"| `{label}` | {cell['mb_per_s']:.1f} | {_fmt(_ratio(cell['mb_per_s'], raw))} | "
                       f"{cell['maxrss_mb']:.0f} MB |")
    return "\n".join(out)
