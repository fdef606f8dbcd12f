"""The complain-mode engine ("log"): CMD runs under a SCMP_ACT_LOG filter and the kernel's audit
records of it are harvested from auditd's log or from /dev/kmsg - no ptrace, near native speed."""

from seccomp_gen.recorder.log.engine import LogEngine

__all__ = ["LogEngine"]
