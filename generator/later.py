"""What recordings after the first added: the lab run first, production (node logs) after it.

`generate LAB.json PROD.json ...` merges them; this says which calls the later recordings hold that
the first does not, each with the recording, the nodes it was seen on and its first caller, so the
next version of a profile is an explicit, reviewable change (and `seccomp-gen diff` of old and new
profile shows the same names).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from seccomp_gen.recorder.recording import Recording


@dataclass(frozen=True)
class LaterCall:
    """A call the first recording lacks: where it first appears, on which nodes, and who made it."""

    name: str
    arch: str
    recording: str
    nodes: tuple[str, ...]
    exe: str
    count: int


def added_after_first(paths: Sequence[str], recordings: Sequence[Recording]) -> tuple[LaterCall, ...]:
    """Every (arch, name) of recordings[1:] that recordings[0] does not hold, in the first later
    recording that has it; nodes are the union over the later recordings."""
    if len(recordings) < 2:
        return ()
    first = {(arch, name) for arch, uses in recordings[0].syscalls.items() for name in uses}
    found: dict[tuple[str, str], LaterCall] = {}
    for path, rec in zip(paths[1:], recordings[1:], strict=True):
        for arch, uses in sorted(rec.syscalls.items()):
            for name, use in sorted(uses.items()):
                key = (arch, name)
                if key in first:
                    continue
                seen = found.get(key)
                if seen is None:
                    found[key] = LaterCall(name, arch, path, use.nodes, use.first.exe, use.count)
                else:
                    nodes = tuple(sorted(set(seen.nodes) | set(use.nodes)))
                    found[key] = LaterCall(name, arch, seen.recording, nodes, seen.exe, seen.count + use.count)
    return tuple(found[key] for key in sorted(found))
