"""NAME.nodedisruption.yaml: the MachineConfiguration/cluster patch (OCP 4.17+) that lets the
Machine Config Operator write the profile without draining and rebooting every node."""

from __future__ import annotations

from typing import Any

from seccomp_gen.generator.emit._yaml import dump
from seccomp_gen.generator.emit.machineconfig import SECCOMP_DIR


def document(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "operator.openshift.io/v1",
        "kind": "MachineConfiguration",
        "metadata": {"name": "cluster"},
        "spec": {
            "nodeDisruptionPolicy": {
                "files": [{"path": f"{SECCOMP_DIR}/{name}.json", "actions": [{"type": "None"}]}],
            }
        },
    }


def render(name: str) -> bytes:
    header = (
        "Node disruption policy (OCP 4.17+): changing the profile file needs no drain or reboot.\n"
        f"oc patch MachineConfiguration cluster --type merge --patch-file {name}.nodedisruption.yaml\n"
        "A merge patch replaces spec.nodeDisruptionPolicy.files: if the cluster already lists files there,\n"
        "add this entry to that list instead."
    )
    return dump(document(name), header=header)
