"""A private podman for the loader tests: containers/common's seccomp loader (pkg/seccomp, the same Go
library CRI-O uses) reads NAME.json from `--security-opt seccomp=FILE` and conmon starts the
container the way CRI-O does: `RUNTIME create`, then `RUNTIME start`.

Everything podman keeps lives under one temporary directory: storage (`--root`, vfs: no overlay
mounts), run root, tmp dir (file locks, not /dev/shm; file events), and a private containers.conf,
storage.conf and registries.conf (no search registry, `--pull never`), so the machine's podman
state is never read or written. Containers run with `--network none` (iptables and ip_forward are
left alone), `--cap-drop all` (restricted-v2 grants no capability; generate's default), the
ulimits these VMs need without CAP_SYS_RESOURCE, and a cgroup parent of their own, removed at the end.

What podman 4.3 and its runtimes still write outside that directory, and `close()` removes when the
session created it and nobody uses it by then (other podman sessions on the machine share them): the
runtimes' default state roots /run/runc and /run/crun, removed only when empty (podman passes
`--runtime-flag root=...` to create and start but not to the cleanup process conmon runs, so a
private root would leave every container's cgroup behind), and containers/image's blob-info cache
/var/lib/containers/cache (root only; `podman import` has no flag for it).

crun 1.8 refuses hybrid cgroup hosts ("cgroups in hybrid mode not supported, drop all controllers
from cgroupv2"). On such a host each podman command that uses crun runs in a private mount namespace
in which /sys/fs/cgroup/unified is unmounted (as tests/support/oci.py does for crun itself): podman,
conmon, crun create, crun start and the cleanup all see a legacy cgroup v1 host. The host's mounts
are not changed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.oci import UNIFIED, RunResult, hybrid_cgroups, run_in_session

RUNTIME_PATHS = {"crun": Path("/usr/bin/crun"), "runc": Path("/usr/sbin/runc")}
PACKAGES = {"podman": "podman", "conmon": "conmon", "crun": "crun", "runc": "runc"}
#: these VMs give root no CAP_SYS_RESOURCE: podman's defaults (1048576 files) cannot be set
ULIMITS = ("--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768")
#: podman exits 125 when it fails, 126/127 when the OCI runtime cannot run the command
START_FAILURES = (125, 126, 127)
CGROUP_ROOT = Path("/sys/fs/cgroup")
#: directories outside the session's own that podman or the runtimes create when missing
HOST_DIRS = (Path("/run/runc"), Path("/run/crun"), Path("/var/lib/containers"))
NUL = b"\0"
SYSCTLS = ("/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding")


def missing(runtime: str | None = None) -> str | None:
    """Why podman (with `runtime`) cannot be used here, naming the Debian package."""
    if os.geteuid() != 0:
        return "the podman tests run rootful containers: run as root"
    tools = {"podman": shutil.which("podman"), "conmon": shutil.which("conmon") or "/usr/bin/conmon"}
    if runtime:
        tools[runtime] = str(RUNTIME_PATHS[runtime])
    for tool, path in tools.items():
        if not path or not Path(path).exists():
            return f"{tool} not found: apt-get install {PACKAGES[tool]}"
    return None


def _iptables() -> str:
    out = []
    for tool in ("iptables-save", "ip6tables-save"):
        if shutil.which(tool):
            out.append(subprocess.run([tool], capture_output=True, text=True, timeout=30).stdout)
    # iptables-save prints a timestamp comment line
    return "\n".join(line for text in out for line in text.splitlines() if not line.startswith("#"))


def host_state() -> dict[str, str]:
    """What the suite must leave as it found it: cgroup mounts, firewall rules, forwarding sysctls."""
    mounts = [line.split(" - ")[0].split(" ", 4)[4] + " " + line.split(" - ")[1]
              for line in Path("/proc/self/mountinfo").read_text().splitlines() if "cgroup" in line]
    state = {"cgroup mounts": "\n".join(sorted(mounts)), "iptables": _iptables(),
             "unified controllers": _read(UNIFIED / "cgroup.controllers")}
    state.update({sysctl: _read(Path(sysctl)) for sysctl in SYSCTLS})
    return state


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _processes(needle: str) -> list[str]:
    """Live processes whose command line mentions `needle` (a session's temporary directory)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if needle.encode() in cmdline:
            found.append(f"{proc.name}: {cmdline.replace(NUL, b' ')[:160]!r}")
    return found


def _remove_cgroup(parent: str) -> list[str]:
    """rmdir the cgroup parent's tree in every hierarchy (children first); what could not go."""
    left = []
    for hierarchy in sorted(p for p in CGROUP_ROOT.iterdir() if p.is_dir()) if CGROUP_ROOT.is_dir() else []:
        top = hierarchy / parent.lstrip("/")
        if not top.is_dir():
            continue
        for sub in sorted((d for d in top.rglob("*") if d.is_dir()), key=lambda d: -len(d.parts)):
            left.append(str(sub))
        left.append(str(top))
    gone = []
    for path in left:
        try:
            os.rmdir(path)
            gone.append(path)
        except OSError:
            pass
    return [p for p in left if p not in gone]


def _remove_created(directory: Path) -> None:
    """Remove a host directory the session created, unless someone else uses it by now: a runtime
    state root only when empty, /var/lib/containers only when it holds nothing but the blob-info cache
    (other podman sessions on the machine create and use the same paths)."""
    if directory == Path("/var/lib/containers"):
        with contextlib.suppress(OSError):
            os.remove(directory / "cache" / "blob-info-cache-v1.boltdb")
        with contextlib.suppress(OSError):
            os.rmdir(directory / "cache")
    with contextlib.suppress(OSError):
        os.rmdir(directory)


def write_private_config(base: Path) -> None:
    """A podman configuration that keeps everything under `base`: storage (vfs), run root, tmp dirs,
    network config, file locks and events, cgroupfs; no registry to search. podman reads it through
    CONTAINERS_CONF / CONTAINERS_STORAGE_CONF, so even a run without the global flags stays there."""
    for sub in ("root", "runroot", "tmp", "net", "imagetmp"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    (base / "containers.conf").write_text(
        f'[engine]\nlock_type = "file"\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n'
        f'tmp_dir = "{base / "tmp"}"\nimage_copy_tmp_dir = "{base / "imagetmp"}"\n'
        f'[network]\nnetwork_config_dir = "{base / "net"}"\n')
    (base / "storage.conf").write_text(
        f'[storage]\ndriver = "vfs"\ngraphroot = "{base / "root"}"\nrunroot = "{base / "runroot"}"\n')
    (base / "registries.conf").write_text("unqualified-search-registries = []\n")


@dataclass
class Podman:
    """One podman session under `base` (a fresh temporary directory); close() always."""

    base: Path

    def __post_init__(self) -> None:
        self.tag = uuid.uuid4().hex[:12]
        self.cgroup_parent = f"/seccomp-gen-podman-{self.tag}"
        self.created = [d for d in HOST_DIRS if not d.exists()]
        write_private_config(self.base)

    def env(self) -> dict[str, str]:
        """The environment of every podman command: the private configuration files only."""
        b = self.base
        return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(b),
                "TMPDIR": str(b / "imagetmp"), "CONTAINERS_CONF": str(b / "containers.conf"),
                "CONTAINERS_STORAGE_CONF": str(b / "storage.conf"),
                "CONTAINERS_REGISTRIES_CONF": str(b / "registries.conf")}

    def argv(self, runtime: str | None = None) -> list[str]:
        """podman's command line up to the sub-command (see the module docstring for crun)."""
        b = self.base
        argv = ["podman", "--root", str(b / "root"), "--runroot", str(b / "runroot"), "--tmpdir", str(b / "tmp"),
                "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
        if runtime is None:
            return argv
        argv += ["--runtime", str(RUNTIME_PATHS[runtime])]
        if runtime == "crun" and hybrid_cgroups():
            return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                    f'umount -l {UNIFIED} && exec "$@"', "sh", *argv]
        return argv

    def podman(self, *args: str, runtime: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.argv(runtime), *args], capture_output=True, text=True, timeout=timeout,
                              env=self.env(), stdin=subprocess.DEVNULL)

    def import_image(self, tar: Path, name: str) -> str:
        """`podman import TAR localhost/NAME:test` into the private storage; the image reference."""
        ref = f"localhost/{name}:test"
        proc = self.podman("import", str(tar), ref, timeout=600)
        if proc.returncode != 0:
            raise AssertionError(f"podman import {tar} failed: {proc.stderr[-500:]}")
        return ref

    def run_argv(self, image: str, runtime: str, argv: Sequence[str], seccomp: Path | None, nnp: bool) -> list[str]:
        """`podman run` as a user runs it with a seccomp profile file, no network, no capabilities."""
        opts = ["run", "--rm", "--pull", "never", "--network", "none", "--cap-drop", "all", *ULIMITS,
                "--cgroup-parent", self.cgroup_parent, "--name", f"sg-{self.tag}-{uuid.uuid4().hex[:8]}"]
        if seccomp is not None:
            opts += ["--security-opt", f"seccomp={seccomp}"]
        if nnp:
            opts += ["--security-opt", "no-new-privileges"]
        return [*self.argv(runtime), *opts, image, *argv]

    def run(self, image: str, runtime: str, argv: Sequence[str], seccomp: Path | None, nnp: bool,
            timeout: float = 60, preexec_fn: Callable[[], None] | None = None) -> RunResult:
        """Run one container to its end (removed by --rm); AssertionError if anything of it is left.
        `preexec_fn` runs in the podman command before it starts (a test's audit session, say)."""
        result = run_in_session(runtime, self.run_argv(image, runtime, argv, seccomp, nnp), timeout,
                                lambda: self.podman("rm", "--force", "--all", "--time", "0", runtime=runtime),
                                env=self.env(), preexec_fn=preexec_fn)
        left = self.leftovers(runtime)
        if left:
            raise AssertionError(f"podman ({runtime}) left: " + "; ".join(left))
        return result

    def leftovers(self, runtime: str | None = None, wait: float = 10) -> list[str]:
        """Containers, conmon or runtime processes and container cgroups of this session still there
        (conmon's cleanup may finish just after podman returns: waited for up to `wait` s)."""
        deadline = time.monotonic() + wait
        while True:
            left = _processes(str(self.base))
            ps = self.podman("ps", "--all", "--quiet", runtime=runtime, timeout=60)
            left += [f"container {c} not removed" for c in ps.stdout.split()]
            for hierarchy in CGROUP_ROOT.iterdir() if CGROUP_ROOT.is_dir() else []:
                top = hierarchy / self.cgroup_parent.lstrip("/")
                left += [f"cgroup left: {d}" for d in top.glob("libpod-*") if d.is_dir()]
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.2)

    def close(self) -> list[str]:
        """Remove every container, kill what is left of the session, remove its cgroups and the host
        directories it created; what had to be forced or could not be removed."""
        problems = []
        for runtime in RUNTIME_PATHS:
            self.podman("rm", "--force", "--all", "--time", "0", runtime=runtime, timeout=120)
        for line in _processes(str(self.base)):
            problems.append(f"killed {line}")
            with contextlib.suppress(OSError):
                os.kill(int(line.split(":")[0]), signal.SIGKILL)
        problems += [f"cgroup not removed: {d}" for d in _remove_cgroup(self.cgroup_parent)]
        for directory in self.created:
            _remove_created(directory)
        shutil.rmtree(self.base, ignore_errors=True)
        return problems
