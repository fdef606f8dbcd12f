"""seccomp-gen: record what a workload does, generate a least-privilege seccomp profile.

This package holds the pieces shared by `recorder` and `generator` (the error type, the atomic
writer) and the click CLI. Nothing here but `cli` imports click.
"""

__version__ = "0.1.0"
