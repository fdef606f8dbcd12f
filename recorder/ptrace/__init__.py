"""The ptrace engine: record a launched command (one stop per syscall) or attach to a pid.

`record_command` is also the traced run that other tools build on: the ebpf engine follows forks
and compat calls with it, `verify` answers denied calls through its `on_trace` hook.
"""

from seccomp_gen.recorder.ptrace.attach import record_pid
from seccomp_gen.recorder.ptrace.engine import PtraceEngine, record_command, with_own_filter_warning

__all__ = ["PtraceEngine", "record_command", "record_pid", "with_own_filter_warning"]
