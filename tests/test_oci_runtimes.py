"""End to end in real OCI runtimes: a generated profile, resolved into the bundle's linux.seccomp as
CRI-O and containerd resolve a localhost profile (seccomp_gen/prove/oci.py), run by runc and crun.

- A busybox `sh -c` entrypoint is recorded with `seccomp-gen record --rootfs` outside any container,
  its profile generated for the runtime and mode (`--runtime`, `--no-new-privileges` /
  `--allow-privilege-escalation`), and the container must give the same stdout and exit status as
  the entrypoint outside, in runc and crun, with noNewPrivileges true and false.
- The runtime-required table (generator/data/runtime_required.json) is proven on its smallest
  entrypoint (a static binary whose only syscall is exit_group): the generated profile starts the
  container, and removing any one name the table measured as required makes the start fail.
  Intermittent names (Go runtime, some runs only) and names for other runtime versions are not
  asserted; scripts/probe_runtime_required.py measures the whole sweep.

Every container is rootful, in a temporary bundle with its own state root and a fresh id, and is
deleted whatever happens; each run asserts that no process, mount, state directory or cgroup of it
is left (tests/support/oci.py). Needs root, runc, crun, busybox-static and gcc.
"""

from __future__ import annotations

import json
import os
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from seccomp_gen.generator import context, profile
from seccomp_gen.ground import syscalls
from seccomp_gen.prove import oci
from tests.support import oci as oci_support
from tests.support.process import cli, need_tool

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="OCI runtime tests run rootful containers: run as root")

MODES = {"no_new_privileges": True, "privilege_escalation": False}
SCRIPT = (
    'read -r greeting < /etc/greeting; echo "$greeting"; '
    "n=0; for w in $(cat /etc/words); do n=$((n+1)); done; echo \"words: $n\"; "
    "printf '%s\\n' c a b | sort | tr a-z A-Z; "
    'echo "$(echo sub)shell"; exit "$1"'
)
def table() -> dict[str, Any]:
    doc: dict[str, dict[str, Any]] = json.loads(
        resources.files("seccomp_gen.generator").joinpath("data/runtime_required.json").read_text())
    return doc["runtimes"]


def runtime_version(runtime: str) -> str:
    out = subprocess.run([runtime, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else ""


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    why = oci_support.missing_tool("busybox")
    if why:
        pytest.skip(why)
    return tmp_path_factory.mktemp("oci")


@pytest.fixture(scope="module")
def rootfs(work: Path) -> Path:
    return oci_support.make_rootfs(work / "rootfs", {
        "/exit0": oci_support.build_exit0(work),
        "/etc/greeting": b"hello from the entrypoint\n",
        "/etc/words": b"alpha beta gamma\ndelta\n",
    })


@pytest.fixture(params=oci_support.RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    why = oci_support.missing_tool(name)
    if why:
        pytest.skip(why)
    if name == "crun" and oci_support.hybrid_cgroups():
        why = oci_support.missing_tool("unshare")
        if why:
            pytest.skip(why)
    return name


def outside(rootfs: Path, argv: list[str]) -> tuple[int, bytes]:
    """The entrypoint run outside any container (chrooted into the same root, no filter)."""
    chroot = need_tool("chroot", "coreutils")
    proc = subprocess.run([chroot, str(rootfs), *argv], capture_output=True, env=dict(e.split("=", 1)
                          for e in oci_support.ENV), timeout=30)
    return proc.returncode, proc.stdout


_recordings: dict[tuple[str, ...], Path] = {}


def recorded(work: Path, rootfs: Path, argv: list[str]) -> Path:
    """`seccomp-gen record --rootfs` of argv, outside the container; its output and status are the
    entrypoint's own."""
    key = tuple(argv)
    if key not in _recordings:
        out = work / f"rec-{len(_recordings)}.json"
        proc = subprocess.run(
            [*cli_argv(), "record", "-q", "-o", str(out), "--rootfs", str(rootfs), "--", *argv],
            capture_output=True, timeout=120, env={**os.environ, **dict(e.split("=", 1) for e in oci_support.ENV)},
        )
        assert out.exists(), proc.stderr.decode()
        assert (proc.returncode, proc.stdout) == outside(rootfs, argv), proc.stderr.decode()
        _recordings[key] = out
    return _recordings[key]


def cli_argv() -> list[str]:
    import sys

    return [sys.executable, "-m", "seccomp_gen"]


def generated(rec: Path, runtime: str, nnp: bool, out: Path, *extra: str) -> dict[str, Any]:
    """`seccomp-gen generate` for the runtime and mode, resolved into linux.seccomp for this host."""
    mode = "--no-new-privileges" if nnp else "--allow-privilege-escalation"
    proc = cli("generate", str(rec), "--name", "e2e", "--runtime", runtime, mode, "--out", str(out), *extra)
    assert proc.returncode == 0, proc.stderr
    native = syscalls.native_arch()
    ctx = context.build([native], [native], runtime=runtime, no_new_privileges=nnp)
    seccomp = oci.linux_seccomp(profile.load(out / "e2e.json"), ctx)
    assert not any("includes" in r or "excludes" in r or "comment" in r for r in seccomp["syscalls"])
    assert seccomp["architectures"][0] == native
    return seccomp


@pytest.mark.parametrize("mode", sorted(MODES))
def test_entrypoint_runs_under_its_own_generated_profile(work: Path, rootfs: Path, runtime: str, mode: str) -> None:
    argv = ["/bin/sh", "-c", SCRIPT, "sh", "0"]
    status, stdout = outside(rootfs, argv)
    assert status == 0 and stdout.startswith(b"hello from the entrypoint\nwords: 4\nA\nB\nC\nsubshell\n")
    seccomp = generated(recorded(work, rootfs, argv), runtime, MODES[mode], work / f"gen-{runtime}-{mode}")
    result = oci_support.run(runtime, work, rootfs, argv, seccomp, MODES[mode])
    assert (result.returncode, result.stdout) == (status, stdout), result.why()


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_narrowed_profile_runs_in_the_runtime(work: Path, rootfs: Path, runtime: str, mode: str) -> None:
    """--narrow-args rules (MASKED_EQ per recorded value) load in runc and crun and start the entrypoint."""
    argv = ["/bin/sh", "-c", SCRIPT, "sh", "0"]
    status, stdout = outside(rootfs, argv)
    out = work / f"gen-{runtime}-{mode}-narrow"
    seccomp = generated(recorded(work, rootfs, argv), runtime, MODES[mode], out, "--narrow-args")
    narrowed = [r for r in seccomp["syscalls"] if r.get("args") and r["names"] in (["fcntl"], ["ioctl"], ["prctl"])]
    assert narrowed, "nothing of the entrypoint was narrowed"
    result = oci_support.run(runtime, work, rootfs, argv, seccomp, MODES[mode])
    assert (result.returncode, result.stdout) == (status, stdout), result.why()


def test_exit_status_passes_through(work: Path, rootfs: Path, runtime: str) -> None:
    argv = ["/bin/sh", "-c", SCRIPT, "sh", "3"]
    status, stdout = outside(rootfs, argv)
    assert status == 3
    seccomp = generated(recorded(work, rootfs, argv), runtime, True, work / f"gen-{runtime}-status")
    result = oci_support.run(runtime, work, rootfs, argv, seccomp, True)
    assert (result.returncode, result.stdout) == (status, stdout), result.why()


def test_generated_profile_without_the_table_fails(work: Path, rootfs: Path, runtime: str) -> None:
    """The control: the same profile with every runtime-required name taken out does not start."""
    argv = ["/exit0"]
    seccomp = generated(recorded(work, rootfs, argv), runtime, True, work / f"gen-{runtime}-control")
    stripped = oci.translate(profile.loads(json.dumps({**seccomp, "syscalls": []})), context.build(
        [syscalls.native_arch()], [syscalls.native_arch()]))
    names = set(table()[runtime]["no_new_privileges"]["names"]) - {"exit_group"}
    kept = tuple(sorted(set().union(*(set(c["names"]) for c in seccomp["syscalls"])) - names))
    result = oci_support.run(runtime, work, rootfs, argv, profile.to_json(oci.with_allowed(stripped, kept)), True)
    assert not result.started(b""), "started without any runtime-required syscall"


@pytest.mark.parametrize("mode", sorted(MODES))
def test_each_runtime_required_name_is_needed(work: Path, rootfs: Path, runtime: str, mode: str) -> None:
    entry = table()[runtime][mode]
    evidence = entry["evidence"]
    names = set(entry["names"])
    measured = set(evidence["required"]) | set(evidence["intermittent"]) | set(evidence["other_versions"])
    assert names == measured, f"names and evidence disagree: {sorted(names ^ measured)}"
    argv = ["/exit0"]
    seccomp = oci.translate(profile.loads(json.dumps(generated(recorded(work, rootfs, argv), runtime, MODES[mode],
                                                                work / f"gen-{runtime}-{mode}-exit0"))),
                            context.build([syscalls.native_arch()], [syscalls.native_arch()]))
    assert names - set(evidence["other_versions"]) <= seccomp.names() | {"openat2", "statx"}
    for _ in range(2):
        result = oci_support.run(runtime, work, rootfs, argv, profile.to_json(seccomp), MODES[mode])
        assert result.started(b""), f"the generated profile does not start the container: {result.why()}"
    version = runtime_version(runtime)
    if version.split()[-1] not in evidence["runtime"]:
        pytest.skip(f"the table was measured on {evidence['runtime']}, this is {version}: "
                    "run scripts/probe_runtime_required.py and update generator/data/runtime_required.json")
    # exit0's own code calls only exit_group: execve is the runtime's exec of it.
    still_starts = []
    for name in sorted(evidence["required"]):
        result = oci_support.run(runtime, work, rootfs, argv, profile.to_json(oci.without(seccomp, name)), MODES[mode])
        if result.started(b""):
            still_starts.append(name)
    assert not still_starts, f"{runtime} ({mode}) starts without {still_starts}: not required"


def test_a_hung_container_is_killed_and_deleted(work: Path, rootfs: Path, runtime: str) -> None:
    result = oci_support.run(runtime, work, rootfs, ["/bin/sleep", "60"], None, True, timeout=1)
    assert result.timed_out  # and run() found no process, mount, state dir or cgroup left
