"""This process's effective capabilities, read from /proc/self/status (CapEff)."""

from __future__ import annotations

from seccomp_gen.ground import kernel
from seccomp_gen.recorder.launch.proc import status_mask


def effective_caps() -> int:
    """The CapEff bit mask (0 when it cannot be read)."""
    return status_mask(b"CapEff")


def has_capability(name: str) -> bool:
    """True when this process has capability `name` (CAP_SYS_ADMIN) in its effective set."""
    return bool(effective_caps() >> kernel.capability(name) & 1)
