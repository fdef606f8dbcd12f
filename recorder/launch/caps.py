"""This process's effective capabilities, read from /proc/self/status (CapEff)."""

from __future__ import annotations

from seccomp_gen.ground import kernel


def effective_caps() -> int:
    """The CapEff bit mask (0 when it cannot be read)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return 0


def has_capability(name: str) -> bool:
    """True when this process has capability `name` (CAP_SYS_ADMIN) in its effective set."""
    return bool(effective_caps() >> kernel.capability(name) & 1)
