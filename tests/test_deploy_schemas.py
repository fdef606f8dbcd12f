"""The deployment YAML proven by the software that consumes it, not by the project's own reading:
Ignition's own validator for the config inside the MachineConfig, the API servers' CRD schemas for
MachineConfig, SCC, the MachineConfiguration patch and the SeccompProfile, and kubernetes-validate
for the pod securityContext in a Pod, for the Kubernetes versions OpenShift 4.12-4.20 ship. Each
check is shown to reject a broken artifact, so none of them passes by not looking."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.process import REPO, cli
from tests.support.schemas import builtin_errors, crd_errors, load_yaml, pod_errors

SAMPLE = REPO / "samples" / "nostat" / "nostat.recording.json"
#: Kubernetes of OpenShift 4.12 ... 4.20
KUBERNETES = ["1.25.0", "1.26.0", "1.27.0", "1.28.0", "1.29.0", "1.30.0", "1.31.0", "1.32.0", "1.33.0"]
KINDS = ("machineconfig", "scc", "seccompprofile", "nodedisruption")


def _multi_arch(tmp_path: Path) -> Path:
    doc = json.loads(SAMPLE.read_text())
    doc["syscalls"]["SCMP_ARCH_X86"] = {"write": {"count": 1, "first": {"pid": 9, "exe": "/opt/app32"}},
                                        "exit_group": {"count": 1, "first": {"pid": 9, "exe": "/opt/app32"}}}
    path = tmp_path / "multi.json"
    path.write_text(json.dumps(doc))
    return path


def _narrowable(tmp_path: Path) -> Path:
    doc = json.loads(SAMPLE.read_text())
    first = {"pid": 9, "exe": "/opt/server"}
    doc["syscalls"]["SCMP_ARCH_X86_64"].update({
        "socket": {"count": 2, "first": first, "args": {"0": [2, 10], "1": [1, 524289], "2": [0]}},
        "ioctl": {"count": 3, "first": first, "args": {"1": [21505, 21531]}},
        "prctl": {"count": 1, "first": first, "args": {"0": [15]}},
        "clone": {"count": 1, "first": first, "args": {"0": [4001536]}}})
    path = tmp_path / "narrowable.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(scope="module", params=["sample", "multi-arch", "multi-arch-v1beta1", "narrowed"])
def artifacts(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp(request.param)
    rec = {"sample": SAMPLE, "narrowed": _narrowable(tmp)}.get(request.param) or _multi_arch(tmp)
    extra: tuple[str, ...] = () if request.param in ("sample", "narrowed") else (
        "--arch", "SCMP_ARCH_X86_64", "--arch", "SCMP_ARCH_X86", "--arch", "SCMP_ARCH_AARCH64")
    extra += ("--narrow-args",) if request.param == "narrowed" else ()
    extra += ("--spo-api-version", "v1beta1") if request.param.endswith("v1beta1") else ()
    proc = cli("generate", str(rec), "--name", "seccomp-app", "--out", str(tmp / "out"), *extra)
    assert proc.returncode == 0, proc.stderr
    return tmp / "out"


def _yaml(out: Path, kind: str) -> Any:
    """The artifact's first document (the SCC file also holds the ClusterRole that grants it)."""
    return load_yaml(out / f"seccomp-app.{kind}.yaml")[0]


# ---------------------------------------------------------------- Ignition


def _ignition_validate(config: dict[str, Any], tmp_path: Path) -> str:
    """ignition-validate's complaints (errors and warnings; empty: accepted as is)."""
    tool = shutil.which("ignition-validate")
    if tool is None:
        pytest.skip("ignition-validate not found: install the Debian package ignition")
    path = tmp_path / "config.ign"
    path.write_text(json.dumps(config))
    proc = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60)
    return (proc.stdout + proc.stderr).strip() + ("" if proc.returncode == 0 else f" (exit {proc.returncode})")


def test_ignition_accepts_the_machineconfig_config(artifacts: Path, tmp_path: Path) -> None:
    config = _yaml(artifacts, "machineconfig")["spec"]["config"]
    assert _ignition_validate(config, tmp_path) == ""


@pytest.mark.parametrize("breakage", ["mode 644", "unknown field", "version 2.2.0", "v2 filesystem"])
def test_ignition_rejects_a_broken_config(artifacts: Path, tmp_path: Path, breakage: str) -> None:
    config = copy.deepcopy(_yaml(artifacts, "machineconfig")["spec"]["config"])
    entry = config["storage"]["files"][0]
    if breakage == "mode 644":
        entry["mode"] = 644  # decimal 644 = 0o1204: the classic mistake
    elif breakage == "unknown field":
        entry["overwrites"] = True
    elif breakage == "version 2.2.0":
        config["ignition"]["version"] = "2.2.0"
    else:
        entry["filesystem"] = "root"
    assert _ignition_validate(config, tmp_path) != ""


def test_the_data_url_is_the_profile_byte_for_byte(artifacts: Path) -> None:
    """Decoded independently of the emitter: base64 data URL and sha512 against NAME.json's bytes."""
    entry = _yaml(artifacts, "machineconfig")["spec"]["config"]["storage"]["files"][0]
    profile = (artifacts / "seccomp-app.json").read_bytes()
    prefix, _, payload = entry["contents"]["source"].partition(",")
    assert prefix == "data:text/plain;charset=utf-8;base64"
    assert base64.b64decode(payload, validate=True) == profile
    assert entry["contents"]["verification"]["hash"] == "sha512-" + hashlib.sha512(profile).hexdigest()
    assert entry["path"] == "/var/lib/kubelet/seccomp/seccomp-app.json" and entry["mode"] == 0o644


# ---------------------------------------------------------------- CRD schemas


def _as_applied(kind: str, document: dict[str, Any]) -> dict[str, Any]:
    """The object the API server validates: the nodedisruption file is a merge patch of the cluster's
    MachineConfiguration, so it is checked merged into a minimal one."""
    if kind != "nodedisruption":
        return document
    base = {"apiVersion": document["apiVersion"], "kind": document["kind"], "metadata": {"name": "cluster"},
            "spec": {"managementState": "Managed"}}
    base["spec"].update(document["spec"])
    return base


@pytest.mark.parametrize("kind", KINDS)
def test_the_crd_schema_accepts_the_artifact(artifacts: Path, kind: str) -> None:
    document = _yaml(artifacts, kind)
    assert crd_errors(_as_applied(kind, document)) == []


def test_the_seccompprofile_holds_the_narrowed_rules(artifacts: Path) -> None:
    """SPO's CRD expresses --narrow-args rules (MASKED_EQ comparisons, int64 values) as NAME.json has them."""
    if not artifacts.parent.name.startswith("narrowed"):
        pytest.skip("only the narrowed set has argument rules of its own")
    spec = _yaml(artifacts, "seccompprofile")["spec"]
    narrowed = {n for r in spec["syscalls"] if r.get("args") for n in r["names"]}
    assert {"ioctl", "prctl", "socket"} <= narrowed
    assert crd_errors(_yaml(artifacts, "seccompprofile")) == []


def test_the_seccompprofile_is_v1_unless_asked(artifacts: Path) -> None:
    api = _yaml(artifacts, "seccompprofile")["apiVersion"]
    expected = "v1beta1" if artifacts.parent.name.startswith("multi-arch-v1beta1") else "v1"
    assert api == f"security-profiles-operator.x-k8s.io/{expected}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("breakage", ["unknown field", "wrong apiVersion", "wrong type"])
def test_the_crd_schema_rejects_a_broken_artifact(artifacts: Path, kind: str, breakage: str) -> None:
    document = copy.deepcopy(_as_applied(kind, _yaml(artifacts, kind)))
    if breakage == "unknown field":
        (document if kind == "scc" else document["spec"])["seccompGenExtra"] = True  # an SCC has no spec
    elif breakage == "wrong apiVersion":
        document["apiVersion"] = document["apiVersion"].rsplit("/", 1)[0] + "/v2alpha9"
    elif kind == "scc":
        document["seccompProfiles"] = "localhost/seccomp-app.json"  # a string, not a list
    elif kind == "machineconfig":
        document["spec"]["kernelArguments"] = "quiet"
    elif kind == "seccompprofile":
        document["spec"]["syscalls"][0]["args"] = [{"index": 0, "value": 2**64 - 1, "op": "SCMP_CMP_EQ"}]
    else:
        document["spec"]["nodeDisruptionPolicy"]["files"] = {"path": "/x"}
    assert crd_errors(document) != []


# ---------------------------------------------------------------- the pod snippet


def _pod(out: Path) -> dict[str, Any]:
    container = {"name": "app", "image": "registry.example/app:1", **_yaml(out, "pod")}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app"}, "spec": {"containers": [container]}}


@pytest.mark.parametrize("version", KUBERNETES)
def test_kubernetes_accepts_the_pod_security_context(artifacts: Path, version: str) -> None:
    assert pod_errors(_pod(artifacts), version) == []


@pytest.mark.parametrize("version", [KUBERNETES[0], KUBERNETES[-1]])
def test_kubernetes_accepts_the_clusterrole_beside_the_scc(artifacts: Path, version: str) -> None:
    documents = load_yaml(artifacts / "seccomp-app.scc.yaml")
    roles = [d for d in documents if d["kind"] == "ClusterRole"]
    assert len(documents) == 2 and len(roles) == 1
    assert builtin_errors(roles[0], version) == []
    assert roles[0]["rules"][0]["resourceNames"] == [documents[0]["metadata"]["name"]]


def test_kubernetes_rejects_a_broken_security_context(artifacts: Path) -> None:
    pod = _pod(artifacts)
    pod["spec"]["containers"][0]["securityContext"]["seccompProfile"]["localhostProfle"] = "typo.json"
    assert pod_errors(pod, KUBERNETES[0]) != []
    pod = _pod(artifacts)
    pod["spec"]["containers"][0]["securityContext"]["seccompProfile"]["type"] = 3
    assert pod_errors(pod, KUBERNETES[-1]) != []
