"""`seccomp-gen generate` end to end: every artifact parsed back, byte-identical reruns, the report."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from seccomp_gen.cli import main
from seccomp_gen.generator.emit.scc import RESTRICTED_V2
from seccomp_gen.generator.profile import loads
from tests.support.generate import X86, X86_64, make_recording, write_recording

SUFFIXES = (".json", ".machineconfig.yaml", ".scc.yaml", ".pod.yaml", ".seccompprofile.yaml", ".nodedisruption.yaml")


@pytest.fixture
def rec_path(tmp_path: Path) -> Path:
    rec = make_recording({
        X86_64: {"read": None, "write": None, "exit_group": None, "execve": None, "clone3": None,
                 "socket": {0: (1, 40)}, "unshare": None},
        X86: {"mmap2": None},
    })
    return write_recording(tmp_path / "rec.json", rec)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_every_artifact_parses_back_and_matches_the_profile(rec_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = run("generate", str(rec_path), "--name", "seccomp-nostat", "--out", str(out), "--cap",
                          "CAP_NET_ADMIN")
    assert code == 0, stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([".seccomp-nostat.json.manifest.json", *(f"seccomp-nostat{s}" for s in SUFFIXES)])
    data = (out / "seccomp-nostat.json").read_bytes()
    profile = loads(data.decode())
    assert [(e.architecture, e.sub_architectures) for e in profile.arch_map] == [(X86_64, (X86,))]

    mc = yaml.safe_load((out / "seccomp-nostat.machineconfig.yaml").read_text())
    assert mc["apiVersion"] == "machineconfiguration.openshift.io/v1" and mc["kind"] == "MachineConfig"
    assert mc["metadata"]["name"] == "99-worker-seccomp-seccomp-nostat"
    assert mc["metadata"]["labels"] == {"machineconfiguration.openshift.io/role": "worker"}
    config = mc["spec"]["config"]
    assert config["ignition"]["version"] == "3.2.0"
    (entry,) = config["storage"]["files"]
    assert "filesystem" not in entry and "filesystem" not in json.dumps(mc)
    assert entry["path"] == "/var/lib/kubelet/seccomp/seccomp-nostat.json"
    assert entry["mode"] == 420 and isinstance(entry["mode"], int)
    assert entry["overwrite"] is True
    prefix = "data:text/plain;charset=utf-8;base64,"
    assert entry["contents"]["source"].startswith(prefix)
    assert base64.b64decode(entry["contents"]["source"][len(prefix):], validate=True) == data
    assert entry["contents"]["verification"]["hash"] == "sha512-" + hashlib.sha512(data).hexdigest()

    scc_text = (out / "seccomp-nostat.scc.yaml").read_text()
    scc, role = yaml.safe_load_all(scc_text)
    assert "oc adm policy add-scc-to-user seccomp-nostat -z" in scc_text
    assert scc["kind"] == "SecurityContextConstraints" and scc["apiVersion"] == "security.openshift.io/v1"
    for key, value in RESTRICTED_V2.items():
        if key == "seccompProfiles":
            assert scc[key] == ["localhost/seccomp-nostat.json"]
        elif key == "allowedCapabilities":
            assert scc[key] == ["NET_ADMIN", "NET_BIND_SERVICE"]  # restricted-v2's + --cap
        else:
            assert scc[key] == value, key
    assert role["kind"] == "ClusterRole" and role["rules"][0]["verbs"] == ["use"]
    assert role["rules"][0]["resourceNames"] == ["seccomp-nostat"]

    pod = yaml.safe_load((out / "seccomp-nostat.pod.yaml").read_text())["securityContext"]
    assert pod["seccompProfile"] == {"type": "Localhost", "localhostProfile": "seccomp-nostat.json"}
    assert pod["allowPrivilegeEscalation"] is False and pod["runAsNonRoot"] is True
    assert pod["capabilities"] == {"drop": ["ALL"], "add": ["NET_ADMIN"]}

    spo = yaml.safe_load((out / "seccomp-nostat.seccompprofile.yaml").read_text())
    assert spo["kind"] == "SeccompProfile" and spo["apiVersion"] == "security-profiles-operator.x-k8s.io/v1"
    assert spo["spec"]["defaultAction"] == profile.default_action
    assert spo["spec"]["architectures"] == [X86, X86_64]
    assert {n for r in spo["spec"]["syscalls"] for n in r["names"]} == profile.names()

    nd = yaml.safe_load((out / "seccomp-nostat.nodedisruption.yaml").read_text())
    assert nd["kind"] == "MachineConfiguration" and nd["metadata"]["name"] == "cluster"
    assert nd["spec"]["nodeDisruptionPolicy"]["files"] == [
        {"path": "/var/lib/kubelet/seccomp/seccomp-nostat.json", "actions": [{"type": "None"}]}]


def test_text_report_names_baseline_reduction_additions_and_denials(rec_path: Path, tmp_path: Path) -> None:
    code, stdout, _ = run("generate", str(rec_path), "--name", "app", "--out", str(tmp_path))
    assert code == 0
    assert "containers/container-libs@8840603a" in stdout and "cri-o/cri-o@f954a17e" in stdout
    assert "smaller attack surface" in stdout
    assert "unshare" in stdout and "needs CAP_SYS_ADMIN" in stdout
    assert "arg0=0x28" in stdout  # socket(AF_VSOCK)
    assert "clone" in stdout and "fallback" in stdout


def test_json_report_and_fail_on_extra(rec_path: Path, tmp_path: Path) -> None:
    code, stdout, stderr = run("generate", str(rec_path), "--name", "app", "--out", str(tmp_path), "--format",
                               "json", "--fail-on-extra")
    assert code == 1
    assert "unshare" in stderr
    report = json.loads(stdout)
    reasons = {(d["name"], d["reason"]) for d in report["not_allowed"]}
    assert ("unshare", "needs-cap") in reasons and ("clone3", "enosys-fallback") in reasons
    assert (tmp_path / "app.json").exists()  # outputs are written; the exit status is the CI signal
    code, _, _ = run("generate", str(rec_path), "--name", "app", "--out", str(tmp_path), "--fail-on-extra",
                     "--allow-extra", "unshare", "--cap", "CAP_SYS_ADMIN")
    assert code == 1  # socket(AF_VSOCK) is still an argument the baseline denies
    code, _, _ = run("generate", str(rec_path), "--name", "app", "--out", str(tmp_path), "--allow-extra", "unshare")
    assert code == 0
    assert "--allow-extra" in (tmp_path / "app.json").read_text()


def test_default_errno_override(rec_path: Path, tmp_path: Path) -> None:
    code, _, _ = run("generate", str(rec_path), "--name", "app", "--out", str(tmp_path), "--default-errno", "EPERM")
    assert code == 0
    assert loads((tmp_path / "app.json").read_text()).default_errno_ret == 1


def test_allow_privilege_escalation_is_carried_to_scc_and_pod(rec_path: Path, tmp_path: Path) -> None:
    code, _, _ = run("generate", str(rec_path), "--name", "app", "--out", str(tmp_path), "--allow-privilege-escalation",
                     "--runtime", "runc")
    assert code == 0
    scc = next(yaml.safe_load_all((tmp_path / "app.scc.yaml").read_text()))
    assert scc["allowPrivilegeEscalation"] is True
    assert "capset" in loads((tmp_path / "app.json").read_text()).names()


def test_generate_runs_as_the_console_module(rec_path: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "generate", str(rec_path), "--name", "app", "--out",
                           str(tmp_path), "--format", "json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["name"] == "app"


@pytest.mark.parametrize("flags", [
    ("--baseline", "moby"),
    ("--cap", "CAP_SYS_ADMIN", "--cap", "CAP_BPF", "--allow-extra", "ptrace", "--runtime", "runc"),
])
def test_same_inputs_give_byte_identical_outputs(rec_path: Path, tmp_path: Path, flags: tuple[str, ...]) -> None:
    """Every artifact and the report, byte for byte, in two fresh processes: set and dict order
    depend on PYTHONHASHSEED there, outputs must not."""
    import os
    import subprocess
    import sys

    contents = []
    for seed in ("1", "2"):
        out = tmp_path / f"seed{seed}"
        proc = subprocess.run(
            [sys.executable, "-m", "seccomp_gen", "generate", str(rec_path), "--name", "app", "--out", str(out),
             "--format", "json", *flags],
            capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONHASHSEED": seed})
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        report.pop("files")
        contents.append({"report": json.dumps(report).encode(), **{p.name: p.read_bytes() for p in out.iterdir()}})
    assert contents[0] == contents[1]
    assert len(contents[0]) == 8  # six artifacts, the manifest and the report


def test_seccompprofile_resource_respects_the_crd_limits(rec_path: Path, tmp_path: Path) -> None:
    """CRI-O's clone rule has 7 comparisons of one argument (ORed); the CRD takes at most 6."""
    code, _, _ = run("generate", str(rec_path), "--name", "app", "--out", str(tmp_path))
    assert code == 0
    spo = yaml.safe_load((tmp_path / "app.seccompprofile.yaml").read_text())
    rules = spo["spec"]["syscalls"]
    assert all(len(r.get("args", [])) <= 6 for r in rules)
    clone_denies = [r for r in rules if r["names"] == ["clone"] and r["action"] == "SCMP_ACT_ERRNO"]
    assert len(clone_denies) == 7 and all(len(r["args"]) == 1 for r in clone_denies)
