"""The generator: recordings + a baseline profile + a target context -> a least-privilege profile.

Modules, one concern each (none imports click):
- profile.py    the Profile value type and its Docker/OCI JSON reader/writer
- baselines/    runtime/default profiles as data (crio, containers-common, moby) with provenance
- data/         runtime-required and ENOSYS-fallback tables, arch names, as data
- tables.py     typed access to data/
- context.py    the target context (arches, caps, runtime, no-new-privileges) and rule applicability
- verdict.py    what a list of rules answers for a syscall (libseccomp's precedence)
- minimise.py   baseline x recording x context -> profile + findings
- emit/         one module per artifact (profile JSON, MachineConfig, SCC, pod, SPO, node disruption)
- report.py     findings as a tabulate table or JSON
- enforce.py    a Profile compiled by libseccomp for a context, loaded in a child process
- bpf.py        a classic-BPF interpreter to ask a compiled filter what it answers
"""
