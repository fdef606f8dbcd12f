"""How check, verify and diff show what they found: text tables, JSON, JUnit XML."""

from __future__ import annotations

import json
from collections.abc import Sequence

from tabulate import tabulate

from seccomp_gen.prove.check import Lack
from seccomp_gen.prove.diff import Change, to_json


def _lack_rows(lacks: Sequence[Lack]) -> list[tuple[str, str, int, int, str, str]]:
    return [(lack.arch, lack.name, lack.use.count, lack.use.first.pid, lack.use.first.exe, lack.answer)
            for lack in lacks]


def lacks(found: Sequence[Lack], fmt: str, suite: str, checked: int | None) -> str:
    """`check`'s report; `checked` is how many syscalls were judged (None: a run, where only the
    denied ones are seen)."""
    if fmt == "json":
        return json.dumps({"missing": [
            {"arch": lack.arch, "syscall": lack.name, "count": lack.use.count,
             "first": {"pid": lack.use.first.pid, "exe": lack.use.first.exe}, "answer": lack.answer,
             "args": list(lack.args)} for lack in found], "checked": -1 if checked is None else checked},
            indent=2, sort_keys=True)
    if fmt == "junit":
        return _junit(found, suite)
    if found:
        return f"{len(found)} syscall(s) the profile does not allow:\n" + tabulate(
            _lack_rows(found), headers=["arch", "syscall", "count", "first pid", "first exe", "profile answers"])
    return f"ok: the profile allows all {checked} syscall(s)" if checked is not None else "ok: nothing was denied"


def _junit(found: Sequence[Lack], suite: str) -> str:
    from xml.sax.saxutils import quoteattr  # costs 25 ms at start-up: only when asked for

    cases = []
    for lack in found:
        message = quoteattr(f"{lack.name} ({lack.arch}) is not allowed: {lack.answer}; first called by "
                            f"{lack.use.first.exe} (pid {lack.use.first.pid}), {lack.use.count} call(s)")
        cases.append(f'  <testcase classname="seccomp-gen.{lack.arch}" name={quoteattr(lack.name)}>\n'
                     f"    <failure message={message}/>\n  </testcase>")
    if not found:
        cases.append('  <testcase classname="seccomp-gen" name="profile allows every recorded syscall"/>')
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name={quoteattr(suite)} '
            f'tests="{max(len(found), 1)}" failures="{len(found)}">\n' + "\n".join(cases) + "\n</testsuite>")


def denials(found: Sequence[Lack], complain: bool) -> list[str]:
    """`verify`'s summary lines on stderr."""
    if not found:
        return ["seccomp-gen: 0 denied syscalls"]
    names = ", ".join(f"{lack.name}({lack.arch.removeprefix('SCMP_ARCH_')})" for lack in found)
    lines = [f"seccomp-gen: {len(found)} denied syscalls{' (allowed: --complain)' if complain else ''}: {names}"]
    lines.extend(f"seccomp-gen:   {lack.name} ({lack.arch}): {lack.answer}, {lack.use.count} call(s), first by "
                 f"{lack.use.first.exe} (pid {lack.use.first.pid})" for lack in found)
    return lines


def changes(found: Sequence[Change], fmt: str, old: str, new: str) -> str:
    """`diff`'s report."""
    if fmt == "json":
        return json.dumps(to_json(list(found)), indent=2)
    if found:
        return tabulate([(c.kind, c.subject, c.old, c.new) for c in found],
                        headers=["", "what", old, new], maxcolwidths=[None, None, 50, 50])
    return "no differences"
