"""ctypes.util.find_library for the two libraries seccomp-gen's dependencies look up at import.

pyseccomp (libc and libseccomp) and python-ptrace (libc) call find_library when imported, and on
Linux each call runs `ldconfig -p` in a subprocess: three fork+execs, ~10 ms of every start that
records or reads a recording. For these two names the answer ldconfig gives is the soname the
dynamic loader resolves (libc.so.6, libseccomp.so.2: what ground/syscalls.py loads too); when the
loader cannot load it, or for any other name, the lookup is the original one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

SONAMES = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}


def _by_soname(original: Callable[[str], str | None]) -> Callable[[str], str | None]:
    def find_library(name: str) -> str | None:
        soname = SONAMES.get(name)
        if soname is not None:
            try:
                ctypes.CDLL(soname)  # the loader finds it: what ldconfig -p would have named
            except OSError:
                pass
            else:
                return soname
        return original(name)

    find_library.wrapped = original  # type: ignore[attr-defined]
    return find_library


def install() -> None:
    """Answer the known names without a subprocess (once per process)."""
    if not hasattr(ctypes.util.find_library, "wrapped"):
        ctypes.util.find_library = _by_soname(ctypes.util.find_library)  # type: ignore[assignment]
