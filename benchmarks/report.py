"""Tables of one benchmark run: plain text for the terminal and Markdown for the README."""

from __future__ import annotations

from typing import Any

NATIVE, STRACE, STRACE_PINNED = "native", "strace -f", "strace -f, pinned"
RECORD_DEFAULT = "record (default: one-stop, pinned)"
RAW = "ausearch --raw -m SECCOMP,SYSCALL"
FLOOR = "floor tracer (C, one-stop, pinned)"
LOOP = "a_getppid_loop"


def _ratio(value: float | None, base: float | None) -> float | None:
    return value / base if value is not None and base else None


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


Row = tuple[str, str, dict[str, Any], float | None, float | None, float | None, float | None, float | None,
            float | None]


def record_rows(data: dict[str, Any]) -> list[Row]:
    """(workload, runner, cell, x native, x strace, x pinned strace, x floor tracer, own time x native,
    own time x the floor tracer's) per cell."""
    rows = []
    for wname, cells in data.get("record", {}).items():
        native = cells.get(NATIVE, {}).get("wall_s")
        strace = cells.get(STRACE, {}).get("wall_s")
        pinned = cells.get(STRACE_PINNED, {}).get("wall_s")
        floor = cells.get(FLOOR, {}).get("wall_s")
        own_native = cells.get(NATIVE, {}).get("self_s")
        own_floor = cells.get(FLOOR, {}).get("self_s")
        for rname, cell in cells.items():
            own = cell.get("self_s")
            rows.append((wname, rname, cell, _ratio(cell["wall_s"], native), _ratio(cell["wall_s"], strace),
                         _ratio(cell["wall_s"], pinned), _ratio(cell["wall_s"], floor), _ratio(own, own_native),
                         _ratio(own, own_floor)))
    return rows


def text_table(data: dict[str, Any]) -> str:
    lines = []
    if "record" in data:
        lines.append(f"{'workload':22} {'runner':36} {'wall s':>8} {'cpu s':>8} {'/native':>8} {'/strace':>8} "
                     f"{'/pinned':>8} {'/floor':>8} {'own/nat':>8} {'own/flr':>8}  note")
        for wname, rname, cell, xn, xs, xp, xf, xo, xof in record_rows(data):
            lines.append(f"{wname:22} {rname:36} {cell['wall_s']:8.3f} {cell['cpu_s']:8.3f} {_fmt(xn):>8} "
                         f"{_fmt(xs):>8} {_fmt(xp):>8} {_fmt(xf):>8} {_fmt(xo):>8} {_fmt(xof):>8}  "
                         f"{cell.get('note', '')[:100]}")
    if "generate" in data:
        gen = data["generate"]
        lines.append(f"\ngenerate, {gen['syscalls']} syscalls ({gen['distinct_names']} names), all artifacts: "
                     f"wall {gen['wall_s']:.3f} s, cpu {gen['cpu_s']:.3f} s (target < {gen['target_s']} s)")
        if "narrow_args" in gen:
            lines.append(f"generate --narrow-args, same recording: wall {gen['narrow_args']['wall_s']:.3f} s")
    if "audit" in data:
        audit = data["audit"]
        raw = audit["runs"].get(RAW, {}).get("mb_per_s")
        lines.append(f"\naudit log {audit['log_mb']:.0f} MB, {audit['log_lines']} lines")
        lines.append(f"{'reader':50} {'MB/s':>7} {'wall s':>8} {'cpu s':>8} {'RSS MB':>7} {'PSS MB':>7} {'/raw':>6}")
        for name, cell in audit["runs"].items():
            pss = _fmt(cell.get("tree_pss_mb") or None, ".0f")
            lines.append(f"{name:50} {cell['mb_per_s']:7.1f} {cell['wall_s']:8.3f} {cell['cpu_s']:8.3f} "
                         f"{cell['maxrss_mb']:7.0f} {pss:>7} {_fmt(_ratio(cell['mb_per_s'], raw)):>6}")
    if "startup" in data:
        lines.append(f"\nstart-up, median of {data['startup']['reps']} (min-max)")
        for name, cell in data["startup"]["exec"].items():
            lines.append(f"{'start -> execve':16} {name:40} {cell['to_exec_ms']:7.1f} ms ({cell['to_exec_ms_min']:.1f}-"
                         f"{cell['to_exec_ms_max']:.1f})  run to exit {cell['wall_ms']:7.1f} ms")
        for name, cell in data["startup"]["cli"].items():
            lines.append(f"{'to first output':16} {name:40} {cell['first_output_ms']:7.1f} ms "
                         f"({cell['first_output_ms_min']:.1f}-{cell['first_output_ms_max']:.1f})  to exit "
                         f"{cell['wall_ms']:7.1f} ms")
    return "\n".join(lines)


def _record_cell(cell: dict[str, Any] | None, native: float | None, strace: float | None,
                 pinned: float | None, floor: float | None = None) -> str:
    if cell is None:
        return "-"
    parts = [f"{x:.2g}x native" if (x := _ratio(cell["wall_s"], native)) else "",
             f"{x:.2f}x strace" if (x := _ratio(cell["wall_s"], strace)) else "",
             f"{x:.2f}x pinned strace" if (x := _ratio(cell["wall_s"], pinned)) else "",
             f"{x:.2f}x floor" if (x := _ratio(cell["wall_s"], floor)) else ""]
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
    model = f", {m['cpu_model']}" if m.get("cpu_model") else ""
    memory = f", {m['memory_gib']} GiB" if m.get("memory_gib") else ""
    load = ""
    if m.get("load_average_at_start") and data.get("load_average_at_end"):
        load = (f"; load average {m['load_average_at_start'][0]:.2f} at the start, "
                f"{data['load_average_at_end'][0]:.2f} at the end")
    out = [f"Machine: {m['cpus']} cores ({m['machine']}{model}){memory}, kernel {m['kernel']}, Python {m['python']}"
           f"{load}. Run started {data.get('started', '?')}; median of {data['reps']} runs after a discarded one"
           f"{' (--quick sizes)' if data['quick'] else ''}.", ""]
    if "record" in data:
        runners = list(dict.fromkeys(r for cells in data["record"].values() for r in cells))
        out.append("| workload | " + " | ".join(runners) + " |")
        out.append("|---" * (len(runners) + 1) + "|")
        for wname, cells in data["record"].items():
            native, strace = cells.get(NATIVE, {}).get("wall_s"), cells.get(STRACE, {}).get("wall_s")
            pinned = cells.get(STRACE_PINNED, {}).get("wall_s")
            floor = cells.get(FLOOR, {}).get("wall_s")
            row = [f"{cells[NATIVE]['wall_s']:.3g} s" if r == NATIVE else
                   _record_cell(cells.get(r), native, strace, pinned, None if r == FLOOR else floor)
                   for r in runners]
            out.append(f"| {wname} | " + " | ".join(row) + " |")
        out.append("")
        out.extend(_own_time_table(data["record"]))
    if "generate" in data:
        gen = data["generate"]
        narrow = f"; with `--narrow-args` {gen['narrow_args']['wall_s']:.3f} s" if "narrow_args" in gen else ""
        out.append(f"`seccomp-gen generate` (all six artifacts, {gen['syscalls']} syscalls / {gen['distinct_names']} "
                   f"names on x86_64 + i386): {gen['wall_s']:.3f} s wall including interpreter start{narrow} "
                   f"(target < {gen['target_s']} s).")
        out.append("")
    if "audit" in data:
        audit = data["audit"]
        raw = audit["runs"].get(RAW, {}).get("mb_per_s")
        out.append(f"| reading a {audit['log_mb']:.0f} MB audit.log | MB/s | x ausearch --raw | peak RSS, largest "
                   "process | peak PSS, all processes |")
        out.append("|---|---|---|---|---|")
        for name, cell in audit["runs"].items():
            label = name if "quarter" not in name else f"{name.split(' (')[0]} ({cell['mb']:.0f} MB log)"
            pss = f"{cell['tree_pss_mb']:.0f} MB" if cell.get("tree_pss_mb") else "-"
            out.append(f"| `{label}` | {cell['mb_per_s']:.1f} | {_fmt(_ratio(cell['mb_per_s'], raw))} | "
                       f"{cell['maxrss_mb']:.0f} MB | {pss} |")
        out.append("")
    if "startup" in data:
        st = data["startup"]
        out.append(f"| start-up (median of {st['reps']}, min-max) | to CMD's execve / first output | to exit |")
        out.append("|---|---|---|")
        for name, cell in st["exec"].items():
            out.append(f"| {name} -- stamp | {cell['to_exec_ms']:.1f} ms ({cell['to_exec_ms_min']:.1f}-"
                       f"{cell['to_exec_ms_max']:.1f}) | {cell['wall_ms']:.1f} ms |")
        for name, cell in st["cli"].items():
            out.append(f"| `{name}` | {cell['first_output_ms']:.1f} ms ({cell['first_output_ms_min']:.1f}-"
                       f"{cell['first_output_ms_max']:.1f}) | {cell['wall_ms']:.1f} ms |")
    return "\n".join(out)


def _target(name: str, value: float | None, target: float | None, unit: str, how: str,
            at_least: bool = False) -> dict[str, Any]:
    met = None if value is None or target is None else (value >= target if at_least else value <= target)
    return {"name": name, "value": value, "target": target, "unit": unit, "how": how, "at_least": at_least,
            "met": met}


def targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The performance issue's targets, from this run's cells (value None: not measured in this run)."""
    out = []
    loop = data.get("record", {}).get(LOOP, {})
    ours = loop.get(RECORD_DEFAULT, {})

    def wall(runner: str) -> float | None:
        return loop.get(runner, {}).get("wall_s")

    def own(runner: str) -> float | None:
        return loop.get(runner, {}).get("self_s")

    if ours:
        out += [
            _target("ptrace default / C floor tracer, (a) getppid loop", _ratio(ours["wall_s"], wall(FLOOR)), 1.5, "x",
                    "whole-process wall time, both pinned"),
            _target("ptrace default / C floor tracer, (a) getppid loop, loop's own time", _ratio(own(RECORD_DEFAULT),
                    own(FLOOR)), 1.5, "x", "the loop's own clock: without the recorder's Python start-up"),
            _target("ptrace default / strace -f pinned, (a) getppid loop", _ratio(ours["wall_s"], wall(STRACE_PINNED)),
                    0.6, "x", "whole-process wall time"),
            _target("ptrace default / native, (a) getppid loop", _ratio(ours["wall_s"], wall(NATIVE)), None, "x",
                    "whole-process wall time"),
            _target("C floor tracer / native, (a) getppid loop", _ratio(wall(FLOOR), wall(NATIVE)), None, "x",
                    "whole-process wall time"),
        ]
    out += _ebpf_targets(data.get("record", {}))
    out += _generate_targets(data.get("generate", {}))
    out += _audit_targets(data.get("audit", {}))
    startup = data.get("startup", {})
    for name, cell in startup.get("exec", {}).items():
        if name != NATIVE:
            out.append(_target(f"{name}: start -> CMD's execve", cell["to_exec_ms"], cell.get("target_ms"), "ms",
                               "spawn to CMD's first clock read (CLOCK_MONOTONIC)"))
    for name, cell in startup.get("cli", {}).items():
        out.append(_target(f"{name}: start -> first output", cell["first_output_ms"], cell.get("target_ms"), "ms",
                           "spawn to the first byte on stdout, byte-compiled"))
    return out


EBPF = "record --engine ebpf"
EBPF_LIMITS = {LOOP: 2.0, "b_python_realistic": 1.2}


def _ebpf_targets(record: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for workload, limit in EBPF_LIMITS.items():
        cells = record.get(workload, {})
        if EBPF in cells:
            out.append(_target(f"ebpf / native, {workload}", _ratio(cells[EBPF]["wall_s"], cells.get(NATIVE, {}).get(
                "wall_s")), limit, "x", "whole-process wall time, the recorder's start-up and finish included"))
    return out


def _generate_targets(gen: dict[str, Any]) -> list[dict[str, Any]]:
    if not gen:
        return []
    name = f"generate, {gen['distinct_names']} names, all artifacts"
    out = [_target(name, gen["wall_s"], gen["target_s"], "s", "whole-process wall time")]
    if "narrow_args" in gen:
        out.append(_target(f"{name}, --narrow-args", gen["narrow_args"]["wall_s"], gen["target_s"], "s",
                           "whole-process wall time"))
    return out


def _audit_targets(audit: dict[str, Any]) -> list[dict[str, Any]]:
    runs = audit.get("runs", {})
    ours, raw = runs.get("seccomp-gen record --audit-log"), runs.get(RAW)
    if ours is None:
        return []
    how = f"MB/s on the {audit['log_mb']:.0f} MB log, in one run"
    return [_target("audit log / ausearch --raw", _ratio(ours["mb_per_s"], (raw or {}).get("mb_per_s")), 3.0, "x", how,
                    at_least=True),
            _target("audit log reader, peak RSS of its largest process", ours["maxrss_mb"], 50.0, "MB", "wait4"),
            _target("audit log reader, peak PSS of all its processes", ours.get("tree_pss_mb"), 50.0, "MB",
                    "sampled from /proc every 20 ms")]


def targets_table(data: dict[str, Any]) -> str:
    rows = data.get("targets") or targets(data)
    if not rows:
        return ""
    out = ["| measure | this run | target | met |", "|---|---|---|---|"]
    for t in rows:
        unit = "x" if t["unit"] == "x" else f" {t['unit']}"
        value = "-" if t["value"] is None else f"{t['value']:.3g}{unit}"
        target = "-" if t["target"] is None else f"{'>=' if t.get('at_least') else '<='} {t['target']:g}{unit}"
        met = {True: "yes", False: "**no**", None: "-"}[t["met"]]
        out.append(f"| {t['name']} ({t['how']}) | {value} | {target} | {met} |")
    return "\n".join(out)
