"""The environment CMD starts with: the caller's, without what the interpreter changed in it.

As it starts, CPython coerces a C or POSIX locale (PEP 538): with LANG unset or C it sets
LC_CTYPE=C.UTF-8 in its own environment, and a recorded program given `os.environ` would inherit
that (a recorded `ls` then opened locale files it never opens in production). The kernel keeps the
environment a process was executed with at /proc/self/environ, which setenv() does not touch: the
variables the interpreter itself sets are put back as they were there. Everything else in
os.environ is passed on, so a library caller's own changes to it still reach CMD.
"""

from __future__ import annotations

import functools
import os

#: Variables CPython sets in its own environment at start-up (PEP 538 locale coercion).
INTERPRETER_SET = (b"LC_CTYPE",)


@functools.lru_cache(maxsize=1)
def _at_exec() -> dict[bytes, bytes] | None:
    """The environment this process was executed with, or None when /proc cannot say."""
    try:
        with open("/proc/self/environ", "rb") as handle:
            block = handle.read()
    except OSError:
        return None
    env: dict[bytes, bytes] = {}
    for entry in block.split(b"\0"):
        name, sep, value = entry.partition(b"=")
        if sep and name and name not in env:
            env[name] = value
    return env


def child_environ() -> dict[bytes, bytes]:
    """os.environ as bytes, with the interpreter's own start-up changes undone."""
    env = dict(os.environb)
    at_exec = _at_exec()
    if at_exec is None:
        return env
    for name in INTERPRETER_SET:
        if name in at_exec:
            env[name] = at_exec[name]
        else:
            env.pop(name, None)
    return env
