"""The environment CMD starts with: the one seccomp-gen itself was started with, byte for byte.

The interpreter changes its own environment as it starts (PEP 538: with LANG unset or C, Python sets
LC_CTYPE=C.UTF-8), and a recorded program given `os.environ` would inherit that: a recorded `ls`
then opened locale files it never opens in production. The kernel keeps the environment a process
was executed with at /proc/self/environ, which setenv() does not touch; that block is passed on.
"""

from __future__ import annotations

import os


def original_environ() -> dict[bytes, bytes]:
    """name -> value as seccomp-gen was executed with them (os.environb if /proc is unreadable)."""
    try:
        with open("/proc/self/environ", "rb") as handle:
            block = handle.read()
    except OSError:
        return dict(os.environb)
    env: dict[bytes, bytes] = {}
    for entry in block.split(b"\0"):
        name, sep, value = entry.partition(b"=")
        if sep and name and name not in env:
            env[name] = value
    return env
