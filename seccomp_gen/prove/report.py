"""How check, verify and diff show what they found: text tables, JSON, JUnit XML."""

from __future__ import annotations

import json
import signal
from collections.abc import Sequence
from typing import Any

from tabulate import tabulate

from seccomp_gen.generator.values_named import shown
from seccomp_gen.ground.text import printable
from seccomp_gen.prove.check import ArgValues, Judgement, Lack
from seccomp_gen.prove.diff import Change, to_json
from seccomp_gen.recorder.launch.status import SIGNAL_BASE

_SIGNALS = {int(s): s.name for s in signal.Signals}


def _lack_rows(lacks: Sequence[Lack]) -> list[tuple[str, str, int, int, str, str]]:
    return [(lack.arch, lack.name, lack.use.count, lack.use.first.pid, printable(lack.use.first.exe), lack.answer)
            for lack in lacks]


def _named(values: ArgValues) -> list[str]:
    return [shown(values.family, v, values.levels) for v in values.values]


def denied_values(lack: Lack) -> str:
    """`domain AF_NETLINK (16); type SOCK_RAW (3)`: the recorded values the profile denies, named
    (generator/data/arg_names.json), or "" when the syscall is denied whatever its arguments."""
    return "; ".join(f"{v.what} {', '.join(_named(v))}" for v in lack.values)


def _lack_json(lack: Lack) -> dict[str, Any]:
    return {"arch": lack.arch, "syscall": lack.name, "count": lack.use.count,
            "first": {"pid": lack.use.first.pid, "exe": lack.use.first.exe}, "answer": lack.answer,
            "args": list(lack.args), **({"handled": lack.handled} if lack.handled else {}),
            "denied_values": [{"index": v.index, "what": v.what, "family": v.family, "values": list(v.values),
                               "names": _named(v)} for v in lack.values]}


def judgement(found: Judgement, fmt: str, suite: str) -> str:
    """`check`'s report."""
    if fmt == "json":
        return json.dumps({
            "missing": [_lack_json(lack) for lack in found.lacks],
            "handled": [_lack_json(lack) for lack in found.handled],
            "logged": [_lack_json(lack) for lack in found.logged],
            "unproven": [{"arch": u.arch, "syscall": u.name, "count": u.use.count, "why": u.why,
                          "first": {"pid": u.use.first.pid, "exe": u.use.first.exe}} for u in found.unproven],
            "checked": found.checked, "exit_status": found.exit_status, "warnings": list(found.notes)},
            indent=2, sort_keys=True)
    if fmt == "junit":
        return _junit(found, suite)
    parts = []
    if found.lacks:
        parts.append(f"{len(found.lacks)} syscall(s) the profile does not allow:\n" + tabulate(
            _lack_rows(found.lacks), headers=["arch", "syscall", "count", "first pid", "first exe", "profile answers"]))
        parts.extend(f"{lack.name}: {denied_values(lack)} denied" for lack in found.lacks if lack.values)
    if found.unproven:
        parts.append(f"{len(found.unproven)} syscall(s) this recording cannot prove allowed:\n" + tabulate(
            [(u.arch, u.name, u.use.count, printable(u.use.first.exe), u.why) for u in found.unproven],
            headers=["arch", "syscall", "count", "first exe", "why"], maxcolwidths=[None, None, None, 40, 60]))
    parts.extend(f"handled: {h.name} ({h.arch}): {h.handled}" for h in found.handled)
    parts.extend(_logged_lines(found, ""))
    if found.empty:
        parts.append("cannot prove: the recording holds no syscall, so there is nothing to judge the profile by")
    elif not found.lacks and not found.unproven:
        parts.append(f"ok: the profile allows all {found.checked} syscall(s)" if found.checked is not None
                     else "ok: nothing was denied")
    return "\n".join(parts)


def _junit(found: Judgement, suite: str) -> str:
    from xml.sax.saxutils import escape, quoteattr  # costs 25 ms at start-up: only when asked for

    cases = []
    for lack in found.lacks:
        values = f" for {denied_values(lack)}" if lack.values else ""
        message = quoteattr(f"{lack.name} ({lack.arch}) is not allowed{values}: {lack.answer}; first called by "
                            f"{printable(lack.use.first.exe)} (pid {lack.use.first.pid}), {lack.use.count} call(s)")
        cases.append(f'  <testcase classname="seccomp-gen.{lack.arch}" name={quoteattr(lack.name)}>\n'
                     f"    <failure message={message}/>\n  </testcase>")
    for x in found.logged:
        cases.append(f'  <testcase classname="seccomp-gen.{x.arch}" name={quoteattr(x.name)}>\n'
                     f"    <system-out>allowed only as logged (SCMP_ACT_LOG)</system-out>\n  </testcase>")
    for u in found.unproven:
        message = quoteattr(f"{u.name} ({u.arch}) cannot be proven allowed: {u.why}")
        cases.append(f'  <testcase classname="seccomp-gen.{u.arch}" name={quoteattr(u.name)}>\n'
                     f"    <error message={message}/>\n  </testcase>")
    if found.empty:
        cases.append('  <testcase classname="seccomp-gen" name="recording holds syscalls">\n'
                     '    <error message="the recording holds no syscall: nothing to judge the profile by"/>\n'
                     '  </testcase>')
    if not cases:
        cases.append('  <testcase classname="seccomp-gen" name="profile allows every recorded syscall"/>')
    errors = len(found.unproven) + found.empty
    # Warnings (a default-allow profile, a missing native arch) go where JUnit readers show them.
    text = "\n".join(f"warning: {note}" for note in found.notes)
    warned = f"  <system-err>{escape(text)}</system-err>\n" if text else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name={quoteattr(suite)} '
            f'tests="{len(cases)}" failures="{len(found.lacks)}" errors="{errors}">\n'
            + "\n".join(cases) + "\n" + warned + "</testsuite>")


def _logged_lines(found: Judgement, prefix: str) -> list[str]:
    """Calls allowed only by SCMP_ACT_LOG rules: under a learning profile, what the lab run missed."""
    if not found.logged:
        return []
    names = ", ".join(f"{x.name}({x.arch.removeprefix('SCMP_ARCH_')})" for x in found.logged)
    return [f"{prefix}{len(found.logged)} syscall(s) allowed only as logged (SCMP_ACT_LOG): {names}"]


def denials(found: Judgement, complain: bool) -> list[str]:
    """`verify`'s summary lines on stderr: every call the kernel denied (handled ones say why)."""
    every = sorted((*found.lacks, *found.handled), key=lambda lack: (lack.arch, lack.name))
    warnings = [*_logged_lines(found, "seccomp-gen: "), *(f"seccomp-gen: warning: {note}" for note in found.notes)]
    if not every:
        return ["seccomp-gen: 0 denied syscalls", *warnings]
    names = ", ".join(f"{lack.name}({lack.arch.removeprefix('SCMP_ARCH_')})" for lack in every)
    lines = [f"seccomp-gen: {len(every)} denied syscalls{' (allowed: --complain)' if complain else ''}: {names}"]
    lines.extend(f"seccomp-gen:   {lack.name} ({lack.arch}): {lack.answer}, {lack.use.count} call(s), first by "
                 f"{printable(lack.use.first.exe)} (pid {lack.use.first.pid})"
                 + (f"; denied {denied_values(lack)}" if lack.values else "")
                 + (f"; handled: {lack.handled}" if lack.handled else "") for lack in every)
    return [*lines, *warnings]


def changes(found: Sequence[Change], fmt: str, old: str, new: str) -> str:
    """`diff`'s report."""
    if fmt == "json":
        return json.dumps(to_json(list(found)), indent=2)
    if found:
        return tabulate([(c.kind, c.subject, c.old, c.new) for c in found],
                        headers=["", "what", old, new], maxcolwidths=[None, None, 50, 50])
    return "no differences"


def command_status(status: int | None, *, exits_too: bool = True) -> str | None:
    """A line for a command that did not exit 0: a death by signal is named (159: killed by SIGSYS,
    as seccomp kills), so a kernel kill never looks like an ordinary failure; an ordinary non-zero
    exit gets a line only with `exits_too` (verify passes the status through without comment)."""
    if not status:
        return None
    if status > SIGNAL_BASE and status - SIGNAL_BASE in _SIGNALS:
        return f"seccomp-gen: the command was killed by {_SIGNALS[status - SIGNAL_BASE]} (exit status {status})"
    return f"seccomp-gen: the command exited with status {status}" if exits_too else None
