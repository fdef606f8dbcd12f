"""`record --engine ebpf --container NAME_OR_ID`: a running container, found with its runtime's CLI, is
recorded and nothing else is; a wrong container is one line and exit 2, with no recording written.

podman runs for real (private storage, runc; marker `loaders`). crictl is not installed here: a
stand-in prints CRI-O's `crictl inspect` output (tests/support/crictl_inspect.py) for a process the
test puts in a cgroup named as CRI-O names a container's.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder import recording
from seccomp_gen.recorder.ebpf import container
from tests.support import images, podman_running
from tests.support.crictl_inspect import render
from tests.support.ebpf import remove_cgroup
from tests.support.ebpf import unavailable as ebpf_unavailable
from tests.support.process import cli

X86_64 = "SCMP_ARCH_X86_64"
REPO = Path(__file__).parent.parent
#: A reads a file in a loop (busybox cat: sendfile); B flushes the disks (sync). Neither calls the other's.
SCRIPT_A = "while :; do cat /proc/self/stat >/dev/null; usleep 20000; done"
SCRIPT_B = "while :; do busybox sync; usleep 20000; done"


_NO_EBPF = ebpf_unavailable()
needs_ebpf = pytest.mark.skipif(_NO_EBPF is not None, reason=_NO_EBPF or "")


def _one_line_refusal(proc: subprocess.CompletedProcess[str], out: Path, needle: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr, proc.stderr
    assert not out.exists()


# ---------------------------------------------------------------- crictl (CRI-O's answer, a stand-in CLI)


def _fake_crictl(tmp_path: Path, cid: str, pid: int, state: str = "CONTAINER_RUNNING") -> Path:
    """An executable named crictl that records its arguments and prints CRI-O's inspect output."""
    (tmp_path / "inspect.json").write_text(render(cid, pid, state))
    script = tmp_path / "bin" / "crictl"
    script.parent.mkdir(exist_ok=True)
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {tmp_path / 'args'}\nexec cat {tmp_path / 'inspect.json'}\n")
    script.chmod(0o755)
    return script


def _new_id() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


def test_crictl_answer_is_read_and_a_cgroup_not_named_after_the_container_is_refused(tmp_path: Path) -> None:
    """This test process is in no crio-<id>.scope: found, inspected with the global flags, refused."""
    cid = _new_id()
    fake = _fake_crictl(tmp_path, cid, os.getpid())
    with pytest.raises(SeccompGenError, match=r"is not the container's own \(expected .*crio-<id>\.scope"):
        container.find(cid[:12], [str(fake), "--runtime-endpoint", "unix:///run/crio/crio.sock"])
    assert (tmp_path / "args").read_text().split() == [
        "--runtime-endpoint", "unix:///run/crio/crio.sock", "inspect", "--output", "json", cid[:12]]


def test_crictl_container_not_running_is_refused(tmp_path: Path) -> None:
    fake = _fake_crictl(tmp_path, _new_id(), 0, "CONTAINER_EXITED")
    with pytest.raises(SeccompGenError, match=r"not running \(state: CONTAINER_EXITED\)"):
        container.find("busybox", [str(fake)])


def test_the_cgroup_recorded_is_the_deepest_one_named_after_the_container() -> None:
    cid, other = _new_id(), _new_id()
    podman, crictl = container.RUNTIME_CLIS["podman"], container.RUNTIME_CLIS["crictl"]
    found = {
        f"/libpod_parent/libpod-{cid}": (podman, f"/libpod_parent/libpod-{cid}"),
        f"/machine.slice/libpod-{cid}.scope/container": (podman, f"/machine.slice/libpod-{cid}.scope"),
        f"/kubepods.slice/kubepods-besteffort.slice/crio-{cid}.scope": (
            crictl, f"/kubepods.slice/kubepods-besteffort.slice/crio-{cid}.scope"),
        f"/kubepods/besteffort/pod1/{cid}": (crictl, f"/kubepods/besteffort/pod1/{cid}"),
    }
    for path, (spec, expected) in found.items():
        assert container.container_dir(path, spec, cid, "c") == expected
    for path in ("/", "/libpod_parent/conmon", f"/machine.slice/libpod-conmon-{cid}.scope",
                 f"/libpod_parent/libpod-{other}", f"/libpod_parent/libpod-{cid[:12]}"):
        with pytest.raises(SeccompGenError, match="not the container's own"):
            container.container_dir(path, podman, cid, "c")


def test_runtime_cli_is_podman_or_crictl_with_global_flags() -> None:
    assert container.split_cli("podman --root '/var/lib/my containers'") == [
        "podman", "--root", "/var/lib/my containers"]
    assert container.split_cli("/usr/local/bin/crictl")[0] == "/usr/local/bin/crictl"
    for bad in ("docker", "", "podman --root 'open"):
        with pytest.raises(SeccompGenError, match="--runtime-cli"):
            container.split_cli(bad)


def test_cli_usage_errors_name_the_flags(tmp_path: Path) -> None:
    """Checked before any runtime CLI runs or anything is recorded."""
    out = tmp_path / "r.json"
    for args, needle in ((["--engine", "ptrace", "--container", "x"], "--container is for --engine ebpf"),
                         (["--container", "x", "--cgroup", "/x"], "--container or --cgroup"),
                         (["--runtime-cli", "podman", "--", "/bin/true"], "--runtime-cli says how to find"),
                         (["--container", "x", "--", "/bin/true"], "not both"),
                         (["--container", "x", "-p", "1"], "not -p")):
        proc = cli("record", "-o", str(out), *args)
        assert proc.returncode == 2 and needle in proc.stderr and not out.exists(), (args, proc.stderr)


@pytest.fixture
def crio_scope() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A process in <test dir>/kubepods.slice/crio-<id>.scope on the cgroup v2 mount, as CRI-O places one."""
    from seccomp_gen.recorder.ebpf import cgroup

    cid = _new_id()
    top = cgroup.find_mount().path / f"sg-crio-test-{os.getpid()}"
    scope = top / "kubepods.slice" / f"crio-{cid}.scope"
    scope.mkdir(parents=True)
    proc = subprocess.Popen(["/bin/sh", "-c", "while :; do cat /dev/null; sleep 0.05; done"])
    try:
        (scope / "cgroup.procs").write_text(str(proc.pid))
        yield cid, proc
    finally:
        proc.kill()
        proc.wait()
        for path in (scope, scope.parent, top):
            remove_cgroup(path)


@needs_ebpf
def test_crictl_container_is_recorded(crio_scope: tuple[str, subprocess.Popen[bytes]], tmp_path: Path) -> None:
    cid, proc = crio_scope
    fake = _fake_crictl(tmp_path, cid, proc.pid)
    out = tmp_path / "crio.json"
    result = cli("record", "--engine", "ebpf", "--container", cid[:12], "--runtime-cli",
                 f"{fake} --runtime-endpoint unix:///run/crio/crio.sock", "--duration", "1s", "-o", str(out))
    assert result.returncode == 0, result.stderr
    rec = recording.load(out)
    assert {"execve", "clock_nanosleep", "wait4"} <= rec.names(X86_64)
    details = rec.source.details["container"]
    assert details["id"] == cid and details["pid"] == proc.pid
    assert details["cgroup"].endswith(f"/kubepods.slice/crio-{cid}.scope")
    assert rec.source.command == ("--container", cid[:12]) and proc.pid in {p.pid for p in rec.processes}


@needs_ebpf
def test_crictl_container_outside_its_scope_is_refused_from_the_cli(tmp_path: Path) -> None:
    fake = _fake_crictl(tmp_path, _new_id(), os.getpid())
    out = tmp_path / "r.json"
    proc = cli("record", "--engine", "ebpf", "--container", "busybox", "--runtime-cli", str(fake), "--duration", "1s",
               "-o", str(out))
    _one_line_refusal(proc, out, "not the container's own")


def test_no_privileges_is_the_engine_message_and_no_runtime_is_asked(tmp_path: Path) -> None:
    setpriv = "/usr/bin/setpriv"
    if os.geteuid() != 0 or not os.path.exists(setpriv):
        pytest.skip("needs root and setpriv (util-linux) to drop to nobody")
    outdir = Path(tempfile.mkdtemp(prefix="sg-container-"))
    try:
        outdir.chmod(0o1777)
        fake = _fake_crictl(outdir, _new_id(), os.getpid())
        outdir.joinpath("bin").chmod(0o755)
        out = outdir / "r.json"
        proc = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                               sys.executable, "-m", "seccomp_gen", "record", "--container", "busybox",
                               "--runtime-cli", str(fake), "-o", str(out)],
                              capture_output=True, text=True, timeout=60, cwd=outdir,
                              env={**os.environ, "PYTHONPATH": str(REPO)})  # this tree's code, not the install's
        _one_line_refusal(proc, out, "needs root (or CAP_BPF and CAP_PERFMON)")
        assert not (outdir / "args").exists()  # the privilege check comes before the runtime's CLI
    finally:
        subprocess.run(["rm", "-rf", str(outdir)], check=False)


# ---------------------------------------------------------------- podman, for real


@pytest.fixture(scope="module")
def pods(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A private podman session with two busybox containers, A and B, started before any recorder."""
    why = podman_running.missing() or _NO_EBPF
    if why:
        pytest.skip(why)
    mounts = podman_running.cgroup_mounts()
    session = podman_running.Session(tmp_path_factory.mktemp("podman"))
    try:
        image = session.import_image(images.busybox_tar(tmp_path_factory.mktemp("busybox")), "sg-record-busybox")
        a = session.start(image, f"sg-a-{session.tag}", SCRIPT_A)
        b = session.start(image, f"sg-b-{session.tag}", SCRIPT_B)
        yield {"session": session, "image": image, "a": a, "b": b}
    finally:
        problems = session.close()
        assert not problems and podman_running.cgroup_mounts() == mounts, problems


def _recorder(session: podman_running.Session, name: str, out: Path, duration: str = "2s") -> subprocess.Popen[str]:
    runtime_cli = shlex.join(["podman", *session.global_args()])
    return subprocess.Popen([sys.executable, "-m", "seccomp_gen", "record", "--engine", "ebpf", "--container", name,
                             "--runtime-cli", runtime_cli, "--duration", duration, "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=session.env())


def _finish(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.loaders
def test_podman_container_is_recorded_and_only_it(pods: dict[str, Any], tmp_path: Path) -> None:
    """A and B recorded at the same time, each by its name or id: each has its own calls, never the other's."""
    a, b = pods["a"], pods["b"]
    out_a, out_b = tmp_path / "a.json", tmp_path / "b.json"
    running = [_recorder(pods["session"], a["Name"], out_a), _recorder(pods["session"], b["Id"][:12], out_b)]
    done_a, done_b = (_finish(proc) for proc in running)
    assert done_a.returncode == 0 and done_b.returncode == 0, (done_a.stderr, done_b.stderr)
    rec_a, rec_b = recording.load(out_a), recording.load(out_b)
    assert {"sendfile", "execve", "openat", "wait4"} <= rec_a.names(X86_64) and "sync" not in rec_a.names(X86_64)
    assert "sync" in rec_b.names(X86_64) and "sendfile" not in rec_b.names(X86_64)
    for rec, entry in ((rec_a, a), (rec_b, b)):
        details = rec.source.details["container"]
        assert details["id"] == entry["Id"] and details["cgroup"].endswith(f"/libpod-{entry['Id']}")
        assert entry["State"]["Pid"] in {p.pid for p in rec.processes}
    assert rec_a.source.command == ("--container", a["Name"])


@pytest.mark.loaders
def test_podman_unknown_container_is_one_line_exit_2_and_no_recording(pods: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "nosuch.json"
    done = _finish(_recorder(pods["session"], "nosuch", out))
    _one_line_refusal(done, out, "no such container nosuch")


@pytest.mark.loaders
def test_podman_stopped_container_is_refused(pods: dict[str, Any], tmp_path: Path) -> None:
    session = pods["session"]
    name = f"sg-stopped-{session.tag}"
    proc = session.podman("run", "-d", "--pull", "never", "--network", "none", *podman_running.ULIMITS,
                          "--cgroup-parent", session.cgroup_parent, "--name", name, pods["image"], "/bin/true")
    assert proc.returncode == 0, proc.stderr
    session.wait_state(name, "exited")
    out = tmp_path / "stopped.json"
    done = _finish(_recorder(session, name, out))
    _one_line_refusal(done, out, "not running (state: exited)")
