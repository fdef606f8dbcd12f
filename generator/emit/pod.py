"""NAME.pod.yaml: the securityContext to paste into a container spec (every field is valid there)."""

from __future__ import annotations

from typing import Any

from seccomp_gen.generator.emit._yaml import dump
from seccomp_gen.generator.minimise import Findings


def document(name: str, findings: Findings) -> dict[str, Any]:
    ctx = findings.context
    capabilities: dict[str, Any] = {"drop": ["ALL"]}
    if ctx.caps:
        capabilities["add"] = sorted(c.removeprefix("CAP_") for c in ctx.caps)
    return {
        "securityContext": {
            "allowPrivilegeEscalation": not ctx.no_new_privileges,
            "capabilities": capabilities,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "Localhost", "localhostProfile": f"{name}.json"},
        }
    }


def render(name: str, findings: Findings) -> bytes:
    header = (
        f"Container securityContext for the seccomp profile {name}.json (relative to /var/lib/kubelet/seccomp).\n"
        f"Paste under spec.containers[]; the pod needs an SCC that allows it ({name}.scc.yaml)."
    )
    return dump(document(name, findings), header=header)
