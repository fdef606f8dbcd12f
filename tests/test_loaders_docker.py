"""End to end through moby's own loader: a recorded entrypoint's profile, generated with `--baseline
moby --runtime runc`, handed to a private dockerd unmodified as `docker run --security-opt
seccomp=FILE`, in a locally imported busybox image, with no-new-privileges on and off.

The loader path differs from tests/test_oci_runtimes.py: the docker client reads the file, dockerd
resolves it (archMap, includes/excludes) and containerd's shim runs `runc create` and, later,
`runc start`. Between the two runc's init waits on its exec FIFO with the filter already loaded,
and when it wakes its Go runtime calls futex on the filtered thread: under dockerd futex is needed
on every start (measured 30/30 failures without it, both modes; under plain `runc run` only some
runs fail, the table's "intermittent"). moby's default action is EPERM, not ENOSYS, so a call that
runc's Go code would retry after ENOSYS fails outright: faccessat2 is required without
no-new-privileges. openat2 and statx (runc 1.2.8+) are not called by runc 1.1.5; the table says so.

The daemon is the test's own (tests/support/dockerd.py): it is stopped after the module whatever
happens, nothing of it may be left (processes, mounts, cgroups), and iptables, ip6tables, the
forwarding sysctls, the cgroup mounts and /etc/docker must be as before. Needs root, docker.io,
busybox-static and gcc (the Debian minbase image: mmdebstrap, cached); about 45 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tests.support import dockerd, images
from tests.support.oci import build_exit0
from tests.support.process import cli, need_tool

pytestmark = pytest.mark.loaders

MODES = {"no_new_privileges": True, "privilege_escalation": False}
IMAGE = "seccomp-gen-busybox:test"
DEBIAN_IMAGE = "seccomp-gen-debian:test"
ENV = {"PATH": "/bin", "HOME": "/"}  # what dockerd gives a root process of the image (PATH from its config)
#: Printed only where /proc is mounted: in the container (and in the recorder's --rootfs run), not in
#: the chroot outside. In the container they prove the filter is loaded and the no-new-privileges mode.
STATUS_LINES = ('if [ -r /proc/self/status ]; then while read -r k v; do case "$k" in '
                'NoNewPrivs:|Seccomp:) echo "$k $v";; esac; done < /proc/self/status; fi; ')
#: The entrypoint prints what it read and computed, then the status lines.
SCRIPT = (
    'read -r greeting < /etc/greeting; echo "$greeting"; '
    "n=0; for w in $(cat /etc/words); do n=$((n+1)); done; echo \"words: $n\"; "
    "printf '%s\\n' c a b | sort | tr a-z A-Z; "
    'echo "$(echo sub)shell"; ' + STATUS_LINES + 'exit "$1"'
)
#: The same in Debian: dash, coreutils and glibc make other calls than busybox does.
DEBIAN_SCRIPT = ('echo "debian $(cat /etc/debian_version)"; ls /usr | sort | head -n 3; '
                 "printf '%s\\n' c a b | sort | tr a-z A-Z; id -u; " + STATUS_LINES + 'exit "$1"')
#: Names the table calls intermittent that dockerd's create/start split makes necessary every time.
DOCKERD_ALWAYS = {"futex"}


def table() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        resources.files("seccomp_gen.generator").joinpath("data/runtime_required.json").read_text())
    runc: dict[str, Any] = doc["runtimes"]["runc"]
    return runc


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    why = dockerd.missing()
    if why:
        pytest.skip(why)
    need_tool("busybox", "busybox-static")
    return tmp_path_factory.mktemp("docker")


@pytest.fixture(scope="module")
def daemon(work: Path) -> Iterator[dockerd.Daemon]:
    """A private dockerd for the module; afterwards nothing of it is left and the host is as before."""
    before = dockerd.host_state()
    try:
        d = dockerd.start(work / "dockerd")
    except RuntimeError as exc:
        assert dockerd.host_state() == before, "a failed dockerd start changed the host"
        pytest.fail(str(exc))
    try:
        yield d
    finally:
        forced = dockerd.stop(d)
        left = dockerd.leftovers(d)
        after = dockerd.host_state()
    assert not left, f"left after stopping dockerd: {left}"
    assert not forced, f"dockerd left these behind (removed now): {forced}"
    assert after == before, f"dockerd changed the host: {sorted(k for k in before if before[k] != after[k])}"


@pytest.fixture(scope="module")
def rootfs(work: Path, daemon: dockerd.Daemon) -> Path:
    """The image's root on the host (recorded in) and the same tree imported as IMAGE."""
    tar = images.busybox_tar(work, {"/exit0": build_exit0(work), "/etc/greeting": b"hello from the entrypoint\n",
                                    "/etc/words": b"alpha beta gamma\ndelta\n"})
    proc = daemon.docker("import", "--change", "ENV PATH=/bin", str(tar), IMAGE)
    assert proc.returncode == 0, proc.stderr.decode()
    return tar.with_suffix("")


@pytest.fixture(scope="module")
def debian_root(work: Path, daemon: dockerd.Daemon) -> Path:
    """The cached Debian minbase root, unpacked on the host (recorded in) and imported as DEBIAN_IMAGE."""
    tar = images.debian_minbase_tar()
    root = work / "debian-root"
    root.mkdir()
    subprocess.run(["tar", "-C", str(root), "-xf", str(tar)], check=True, timeout=300)
    proc = daemon.docker("import", "--change", "ENV PATH=/usr/bin:/bin", str(tar), DEBIAN_IMAGE, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    return root


def outside(rootfs: Path, argv: list[str]) -> tuple[int, bytes]:
    """The entrypoint outside any container (chrooted into the image's root, no filter)."""
    chroot = need_tool("chroot", "coreutils")
    proc = subprocess.run([chroot, str(rootfs), *argv], capture_output=True, env=ENV, timeout=30)
    return proc.returncode, proc.stdout


_recordings: dict[tuple[str, ...], Path] = {}


def recorded(work: Path, rootfs: Path, argv: list[str]) -> Path:
    """`seccomp-gen record --rootfs` of argv; its output and status must be the entrypoint's own."""
    key = tuple(argv)
    if key not in _recordings:
        out = work / f"rec-{len(_recordings)}.json"
        proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "record", "-q", "-o", str(out), "--rootfs",
                               str(rootfs), "--", *argv], capture_output=True, timeout=120, env={**os.environ, **ENV})
        assert out.exists(), proc.stderr.decode()
        assert (proc.returncode, without_status(proc.stdout)) == outside(rootfs, argv), proc.stderr.decode()
        _recordings[key] = out
    return _recordings[key]


def without_status(stdout: bytes) -> bytes:
    """The entrypoint's output less the /proc/self/status lines (the recorder's --rootfs run has a
    /proc, the chroot outside has none; the recorder's own filter shows as Seccomp: 2)."""
    return b"".join(line for line in stdout.splitlines(keepends=True)
                    if not line.startswith((b"NoNewPrivs:", b"Seccomp:")))


def generated(rec: Path, runtime: str, nnp: bool, out: Path, *extra: str) -> Path:
    """`seccomp-gen generate --baseline moby --runtime RUNTIME` for the mode: the profile's path."""
    mode = "--no-new-privileges" if nnp else "--allow-privilege-escalation"
    proc = cli("generate", str(rec), "--name", "e2e", "--baseline", "moby", "--runtime", runtime, mode,
               "--out", str(out), *extra)
    assert proc.returncode == 0, proc.stderr
    return out / "e2e.json"


def names_of(path: Path) -> set[str]:
    return {n for rule in json.loads(path.read_text())["syscalls"] for n in rule["names"]}


def without(path: Path, name: str, out: Path) -> Path:
    """The same profile with `name` taken out of every rule (rules left empty dropped)."""
    doc = json.loads(path.read_text())
    rules = [{**r, "names": [n for n in r["names"] if n != name]} for r in doc["syscalls"]]
    out.write_text(json.dumps({**doc, "syscalls": [r for r in rules if r["names"]]}))
    return out


def in_container(stdout: bytes, nnp: bool) -> bytes:
    """What the entrypoint prints inside: its output outside plus the status lines (filter mode 2)."""
    return stdout + f"NoNewPrivs: {int(nnp)}\nSeccomp: 2\n".encode()


@pytest.mark.parametrize("mode", sorted(MODES))
def test_entrypoint_runs_under_its_own_generated_profile(work: Path, daemon: dockerd.Daemon, rootfs: Path,
                                                          mode: str) -> None:
    argv = ["/bin/sh", "-c", SCRIPT, "sh", "0"]
    status, stdout = outside(rootfs, argv)
    assert (status, stdout) == (0, b"hello from the entrypoint\nwords: 4\nA\nB\nC\nsubshell\n")
    profile = generated(recorded(work, rootfs, argv), "runc", MODES[mode], work / f"gen-{mode}")
    result = dockerd.run(daemon, IMAGE, argv, profile, MODES[mode])
    assert result.started(in_container(stdout, MODES[mode])), result.why()


@pytest.mark.parametrize("flag", ["--on-miss=log", "--narrow-args"])
def test_learning_and_narrowed_profiles_start(work: Path, daemon: dockerd.Daemon, rootfs: Path, flag: str) -> None:
    """A learning profile from a partial recording (exit0 only) lets the script run in dockerd; so does
    a --narrow-args profile of the script itself."""
    argv = ["/bin/sh", "-c", SCRIPT, "sh", "0"]
    _status, stdout = outside(rootfs, argv)
    rec = recorded(work, rootfs, ["/exit0"] if flag == "--on-miss=log" else argv)
    profile = generated(rec, "runc", True, work / f"gen-{flag.strip('-')}", flag)
    result = dockerd.run(daemon, IMAGE, argv, profile, True)
    assert result.started(in_container(stdout, True)), result.why()


def test_exit_status_passes_through(work: Path, daemon: dockerd.Daemon, rootfs: Path) -> None:
    argv = ["/bin/sh", "-c", SCRIPT, "sh", "3"]
    status, stdout = outside(rootfs, argv)
    assert status == 3
    profile = generated(recorded(work, rootfs, argv), "runc", True, work / "gen-status")
    result = dockerd.run(daemon, IMAGE, argv, profile, True)
    assert result.started(in_container(stdout, True), 3), result.why()


@pytest.mark.parametrize("mode", sorted(MODES))
def test_each_runtime_required_name_is_needed(work: Path, daemon: dockerd.Daemon, rootfs: Path, mode: str) -> None:
    """exit0's own code calls only exit_group: every other name is runc's, after the filter load."""
    entry = table()[mode]
    evidence = entry["evidence"]
    profile = generated(recorded(work, rootfs, ["/exit0"]), "runc", MODES[mode], work / f"gen-{mode}-exit0")
    assert set(entry["names"]) <= names_of(profile)
    for _ in range(2):
        result = dockerd.run(daemon, IMAGE, ["/exit0"], profile, MODES[mode])
        assert result.started(b""), f"the generated profile does not start the container: {result.why()}"
    version = subprocess.run(["runc", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    if version.split()[-1] not in evidence["runtime"]:
        pytest.skip(f"the table was measured on {evidence['runtime']}, this is {version}")
    starts = set()
    required = set(evidence["required"]) | DOCKERD_ALWAYS
    for name in sorted(entry["names"]):
        # A required name Go's runtime calls only under contention (futex) may be spared by one start:
        # it counts as not needed only when three starts without it all succeed.
        for _ in range(3 if name in required else 1):
            result = dockerd.run(daemon, IMAGE, ["/exit0"], without(profile, name, work / f"without-{name}.json"),
                                 MODES[mode])
            assert result.stdout == b""
            if not result.started(b""):
                break
        else:
            starts.add(name)
    assert not starts & required, f"runc ({mode}) under dockerd starts without {sorted(starts & required)}"
    # what starts without a name is what the table says runc 1.1.5 does not always call
    tried_or_sometimes = set(evidence["intermittent"]) | set(evidence["other_versions"])
    assert starts <= tried_or_sometimes, f"starts without {sorted(starts - tried_or_sometimes)}: table says required"


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_crun_targeted_profile_does_not_start_in_dockerd(work: Path, daemon: dockerd.Daemon, rootfs: Path,
                                                           mode: str) -> None:
    """dockerd runs runc: a profile generated for crun lacks what runc calls under the filter."""
    argv = ["/bin/sh", "-c", SCRIPT, "sh", "0"]
    rec = recorded(work, rootfs, argv)
    crun = generated(rec, "crun", MODES[mode], work / f"gen-crun-{mode}")
    runc = generated(rec, "runc", MODES[mode], work / f"gen-runc-{mode}")
    assert "fstatfs" in names_of(runc) - names_of(crun)  # (futex too, unless the workload's clone implies it)
    result = dockerd.run(daemon, IMAGE, argv, crun, MODES[mode])
    assert result.returncode != 0 and result.stdout == b"", f"started under a crun profile: {result.why()}"


@pytest.mark.parametrize("mode", sorted(MODES))
def test_debian_entrypoint_runs_under_its_own_generated_profile(work: Path, daemon: dockerd.Daemon,
                                                                debian_root: Path, mode: str) -> None:
    argv = ["/bin/sh", "-c", DEBIAN_SCRIPT, "sh", "0"]
    status, stdout = outside(debian_root, argv)
    assert status == 0 and stdout.startswith(b"debian 12") and stdout.endswith(b"A\nB\nC\n0\n"), stdout
    profile = generated(recorded(work, debian_root, argv), "runc", MODES[mode], work / f"gen-debian-{mode}")
    result = dockerd.run(daemon, DEBIAN_IMAGE, argv, profile, MODES[mode])
    assert result.started(in_container(stdout, MODES[mode])), result.why()
