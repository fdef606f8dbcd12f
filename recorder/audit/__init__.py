"""The audit engine: SECCOMP (1326) and SYSCALL (1300) records from logs -> a Recording.

Reads auditd's audit.log (and rotated .gz files), `ausearch --raw` output and kernel/journal/syslog
lines, offline, on any machine: `arch=` is an AUDIT_ARCH token named through libseccomp, so a log
taken on an aarch64 node works on an x86_64 laptop.
"""

from seccomp_gen.recorder.audit.engine import AuditFilter, AuditLogEngine, read_audit_logs

__all__ = ["AuditFilter", "AuditLogEngine", "read_audit_logs"]
