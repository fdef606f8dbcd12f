"""The seccomp filter a launched command starts under, and the no_new_privs decision for it.

The kernel lets a process load a filter without no_new_privs only with CAP_SYS_ADMIN; with it the
filter loads as a runtime without no-new-privileges loads it, so setuid programs behave as they
would unrecorded. Every engine and `verify` take that decision here.
"""

from __future__ import annotations

from typing import Any

import pyseccomp

from seccomp_gen.recorder.launch.caps import has_capability


def no_new_privs_needed(required: bool = False) -> bool:
    """Whether the filter must set no_new_privs: when asked for, or when the kernel demands it."""
    return required or not has_capability("CAP_SYS_ADMIN")


def prepare(filt: Any, *, bad_arch: int | None = None, nnp_required: bool = False) -> bool:
    """Set the filter's bad-arch action (calls of architectures it does not list) and its
    no_new_privs attribute; returns whether no_new_privs is set."""
    if bad_arch is not None:
        filt.set_attr(pyseccomp.Attr.ACT_BADARCH, bad_arch)
    nnp = no_new_privs_needed(nnp_required)
    filt.set_attr(pyseccomp.Attr.CTL_NNP, int(nnp))
    return nnp


def new_filter(default: int, *, bad_arch: int | None = None) -> tuple[pyseccomp.SyscallFilter, bool]:
    """A filter answering `default` (and `bad_arch`, else the same, for other arches); (filter, nnp)."""
    filt = pyseccomp.SyscallFilter(default)
    nnp = prepare(filt, bad_arch=default if bad_arch is None else bad_arch)
    return filt, nnp
