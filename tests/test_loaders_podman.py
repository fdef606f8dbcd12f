"""End to end through a real loader: podman 4.3 reads the unmodified NAME.json with containers/common's
pkg/seccomp (the library CRI-O uses) and conmon starts the container as CRI-O does, `RUNTIME create`
then `RUNTIME start` - not the one-step `run` of tests/test_oci_runtimes.py, in which crun without
no-new-privileges never waits for the start under the filter (pselect6, read).

- Start: an entrypoint of each image (a busybox-static root, `podman import`ed; a Debian minbase root
  from mmdebstrap, cached in build/cache/) is recorded with `seccomp-gen record --rootfs` outside any
  container, its profile generated with `--runtime crun|runc` and `--no-new-privileges` /
  `--allow-privilege-escalation`, and `podman run --security-opt seccomp=NAME.json` (plus
  `--security-opt no-new-privileges` in that mode) must print what the entrypoint printed outside.
- Removal (busybox image): the runtime-required table is proven on its smallest entrypoint (a static
  binary whose only syscall is exit_group): NAME.json starts it, and a copy of NAME.json with any one
  name the table measured as strictly required on this path taken out of its rules does not. Names
  kept for another reason (intermittent Go-runtime calls, other runtime versions, calls the runtime
  only tries first) must say why in the table.

Every podman command uses a private root, run root, tmp dir and configuration (tests/support/podman.py);
each run asserts that no container, conmon or cgroup of it is left, and the module asserts at the end
that the host's cgroup mounts, firewall rules and forwarding sysctls are as before and that nothing
of the session had to be killed or could not be removed (the runtimes' state roots and the
blob-info cache it created are removed when no other podman session uses them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tests.support import images
from tests.support import podman as podman_support
from tests.support.oci import build_exit0

pytestmark = [pytest.mark.loaders,
              pytest.mark.skipif(os.geteuid() != 0, reason="podman tests run rootful containers: run as root")]

RUNTIMES = ("crun", "runc")
MODES = {"no_new_privileges": True, "privilege_escalation": False}
#: the environment podman gives a container without --env (what the recording must see too)
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LC_ALL": "C"}
GREETING = b"hello from the entrypoint\n"
ENTRYPOINTS = {
    # busybox sh with applets: builtins, a pipeline, a command substitution
    "busybox": ["/bin/sh", "-c", 'read -r g < /etc/greeting; echo "$g"; '
                "n=0; for w in $(cat /etc/words); do n=$((n+1)); done; echo \"words: $n\"; "
                "printf '%s\\n' c a b | sort | tr a-z A-Z; echo \"$(echo sub)shell\""],
    # dash and dynamically linked coreutils (glibc's loader, locale and NSS look-ups)
    "debian": ["/bin/sh", "-c", 'read -r g < /etc/greeting; echo "$g"; cat /etc/debian_version | cut -d. -f1; '
               "ls -1 /etc/greeting /etc/words; printf '%s\\n' c a b | sort | tr a-z A-Z; wc -w < /etc/words; "
               'echo "$(id -u)"'],
}
EXTRA_FILES: dict[str, bytes | Path] = {"/etc/greeting": GREETING, "/etc/words": b"alpha beta gamma\ndelta\n"}
def table() -> dict[str, Any]:
    doc: dict[str, dict[str, Any]] = json.loads(
        resources.files("seccomp_gen.generator").joinpath("data/runtime_required.json").read_text())
    return doc["runtimes"]


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[podman_support.Podman]:
    """One private podman session for the module; the host must be as before when it is closed."""
    why = podman_support.missing()
    if why:
        pytest.skip(why)
    before = podman_support.host_state()
    session = podman_support.Podman(tmp_path_factory.mktemp("podman"))
    try:
        yield session
    finally:
        problems = session.close()
        after = podman_support.host_state()
        changed = [key for key in before if before[key] != after[key]]
        assert not (problems or changed), f"forced {problems}; host changed: {changed}"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("loaders")


@pytest.fixture(scope="module")
def exit0(work: Path) -> Path:
    return build_exit0(work)


_images: dict[str, tuple[str, Path]] = {}


def image(kind: str, podman: podman_support.Podman, work: Path, exit0: Path) -> tuple[str, Path]:
    """(podman image reference, the same root unpacked for recording) of `busybox` or `debian`."""
    if kind not in _images:
        root = work / f"root-{kind}"
        if kind == "busybox":
            tar = images.busybox_tar(work, {**EXTRA_FILES, "/exit0": exit0})
        else:
            tar = images.debian_minbase_tar_with(work, EXTRA_FILES)
        root.mkdir()
        with tarfile.open(tar) as archive:
            archive.extractall(root, filter="fully_trusted")
        _images[kind] = (podman.import_image(tar, f"seccomp-gen-{kind}"), root)
    return _images[kind]


def record(work: Path, root: Path, argv: list[str], tag: str) -> tuple[Path, bytes]:
    """`seccomp-gen record --rootfs` of argv outside any container: the recording and what it printed."""
    out = work / f"{tag}.recording.json"
    proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "record", "-q", "-o", str(out), "--rootfs", str(root),
                           "--", *argv], capture_output=True, timeout=120, env={**os.environ, **ENV})
    assert proc.returncode == 0 and out.exists(), proc.stderr.decode()
    return out, proc.stdout


def generate(rec: Path, runtime: str, nnp: bool, out: Path, *extra: str) -> Path:
    """`seccomp-gen generate` for the runtime and mode: the NAME.json a user hands to the loader."""
    mode = "--no-new-privileges" if nnp else "--allow-privilege-escalation"
    proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "generate", str(rec), "--name", "app", "--runtime",
                           runtime, mode, "--out", str(out), *extra], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out / "app.json"


def without(profile: Path, name: str, out: Path) -> Path:
    """A copy of NAME.json with `name` taken out of every rule (a rule left with no name is dropped)."""
    doc = json.loads(profile.read_text())
    rules = []
    for rule in doc["syscalls"]:
        names = [n for n in rule.get("names", []) if n != name]
        if names:
            rules.append({**rule, "names": names})
    assert len(rules) < len(doc["syscalls"]) or any(name in r.get("names", []) for r in doc["syscalls"]), \
        f"{name} is not in {profile}"
    out.write_text(json.dumps({**doc, "syscalls": rules}, indent=1))
    return out


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    why = podman_support.missing(name)
    if why:
        pytest.skip(why)
    return name


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("kind", sorted(ENTRYPOINTS))
def test_recorded_entrypoint_starts_from_its_unmodified_profile(
        podman: podman_support.Podman, work: Path, exit0: Path, runtime: str, mode: str, kind: str) -> None:
    ref, root = image(kind, podman, work, exit0)
    rec, printed = record(work, root, ENTRYPOINTS[kind], f"{kind}-{runtime}-{mode}")
    assert printed.startswith(GREETING) and b"A\nB\nC\n" in printed, printed
    profile = generate(rec, runtime, MODES[mode], work / f"gen-{kind}-{runtime}-{mode}")
    result = podman.run(ref, runtime, ENTRYPOINTS[kind], profile, MODES[mode])
    assert (result.returncode, result.stdout) == (0, printed), result.why()


@pytest.mark.parametrize("flag", ["--on-miss=log", "--narrow-args"])
def test_learning_and_narrowed_profiles_start(podman: podman_support.Podman, work: Path, exit0: Path, runtime: str,
                                              flag: str) -> None:
    """A learning profile (SCMP_ACT_LOG rules, SECCOMP_FILTER_FLAG_LOG) made from a partial recording - the
    exit0 entrypoint only - lets the busybox entrypoint run; a --narrow-args profile of it does too."""
    ref, root = image("busybox", podman, work, exit0)
    argv = ENTRYPOINTS["busybox"]
    rec, printed = record(work, root, argv, f"busybox-{runtime}-flags")
    if flag == "--on-miss=log":
        rec, _ = record(work, root, ["/exit0"], f"exit0-{runtime}-partial")
    profile = generate(rec, runtime, False, work / f"gen-busybox-{runtime}-{flag.strip('-')}", flag)
    doc = json.loads(profile.read_text())
    if flag == "--on-miss=log":  # runc 1.1 refuses any filter flag (data/loaders.json)
        assert ("SECCOMP_FILTER_FLAG_LOG" in doc.get("flags", [])) == (runtime == "crun")
        assert any(r["action"] == "SCMP_ACT_LOG" for r in doc["syscalls"])
    result = podman.run(ref, runtime, argv, profile, False)
    assert (result.returncode, result.stdout) == (0, printed), result.why()


@pytest.mark.parametrize("mode", sorted(MODES))
def test_each_required_name_is_needed_through_podman(
        podman: podman_support.Podman, work: Path, exit0: Path, runtime: str, mode: str) -> None:
    entry = table()[runtime][mode]
    evidence = entry["evidence"]
    required = set(evidence["required"]) | set(evidence.get("create_start_only", {}))
    explained = {**evidence["intermittent"], **evidence["other_versions"]}
    unexplained = set(entry["names"]) - required - set(explained)
    assert not unexplained, f"the table keeps {sorted(unexplained)} without saying why"
    ref, root = image("busybox", podman, work, exit0)
    rec, _ = record(work, root, ["/exit0"], f"exit0-{runtime}-{mode}")
    profile = generate(rec, runtime, MODES[mode], work / f"gen-exit0-{runtime}-{mode}")
    for _ in range(2):
        result = podman.run(ref, runtime, ["/exit0"], profile, MODES[mode])
        assert result.started(b""), f"the unmodified profile does not start the container: {result.why()}"
    still_starts = []
    for name in sorted(required):
        # Go's runtime calls futex only when its threads contend: a start without it now and then
        # does not make it optional. A name is needed when some of three starts fail without it.
        for _ in range(3):
            result = podman.run(ref, runtime, ["/exit0"], without(profile, name, work / f"without-{name}.json"),
                                MODES[mode])
            if not result.started(b""):
                assert not result.timed_out, f"without {name} the container neither started nor failed: {result.why()}"
                break
        else:
            still_starts.append(name)
    assert not still_starts, f"podman ({runtime}, {mode}) starts without {still_starts} in 3 of 3 runs: not required"


@pytest.mark.parametrize("runtime_pair", [("runc", "crun"), ("crun", "runc")], ids=["runc-profile-in-crun",
                                                                                    "crun-profile-in-runc"])
def test_a_profile_for_the_other_runtime_does_not_start(
        podman: podman_support.Podman, work: Path, exit0: Path, runtime_pair: tuple[str, str]) -> None:
    """The control: without no-new-privileges each runtime calls names the other's table lacks
    (crun waits for the start with pselect6 and sets ids with setresuid; runc's Go init calls capget,
    chdir, getdents64...): a profile generated for the wrong runtime does not start the container."""
    made_for, run_in = runtime_pair
    for name in runtime_pair:
        why = podman_support.missing(name)
        if why:
            pytest.skip(why)
    ref, root = image("busybox", podman, work, exit0)
    rec, _ = record(work, root, ["/exit0"], f"exit0-control-{made_for}")
    profile = generate(rec, made_for, False, work / f"gen-exit0-control-{made_for}")
    result = podman.run(ref, run_in, ["/exit0"], profile, False)
    assert not result.started(b""), f"{run_in} started under a profile made for {made_for}"
    assert result.returncode in podman_support.START_FAILURES, result.why()
