"""The artifacts of `generate`, one module per file; `render` returns them all as bytes, in memory.

Nothing is written here: the CLI writes the returned files (atomically) only once every artifact
rendered, so a failure leaves nothing half-done. Every artifact is deterministic: the same inputs
give the same bytes.
"""

from __future__ import annotations

import re

from seccomp_gen.generator.emit import machineconfig, nodedisruption, pod, profile_json, scc, spo
from seccomp_gen.generator.minimise import Result
from seccomp_gen.ground.errors import SeccompGenError

#: A profile name becomes a file name, a MachineConfig/SCC/SeccompProfile name and a path on every
#: node: a DNS-1123 label (lowercase letters, digits, '-'), so it is valid in all of them.
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_ROLE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")

SUFFIXES = (".json", ".machineconfig.yaml", ".scc.yaml", ".pod.yaml", ".seccompprofile.yaml", ".nodedisruption.yaml")


def validate_name(name: str) -> str:
    if not _NAME.match(name):
        raise SeccompGenError(
            f"invalid --name {name!r}: use 1-63 lowercase letters, digits and '-', starting and ending with a "
            "letter or digit (it becomes a file name and a Kubernetes object name)"
        )
    return name


def validate_role(role: str) -> str:
    if not _ROLE.match(role):
        raise SeccompGenError(f"invalid --role {role!r}: a MachineConfigPool role such as worker or master")
    return role


def render(name: str, result: Result, role: str = "worker", spo_api_version: str = "v1") -> dict[str, bytes]:
    """file name -> content, for every artifact of profile `name`."""
    validate_name(name)
    validate_role(role)
    data = profile_json.render(result.profile)
    return {
        f"{name}.json": data,
        f"{name}.machineconfig.yaml": machineconfig.render(name, data, role, result.findings),
        f"{name}.scc.yaml": scc.render(name, result.findings),
        f"{name}.pod.yaml": pod.render(name, result.findings),
        f"{name}.seccompprofile.yaml": spo.render(name, result.profile, result.findings, spo_api_version),
        f"{name}.nodedisruption.yaml": nodedisruption.render(name),
    }
