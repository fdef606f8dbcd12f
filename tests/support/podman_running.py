"""A private podman with long-running (detached) containers, for `record --container`.

Everything podman keeps lives under one temporary directory: storage (`--root`, vfs: no overlay
mount), run root, tmp dir, network config dir, and a private containers.conf (file locks instead of
/dev/shm/libpod_lock, file events, cgroupfs, image copies under the session) and storage.conf, so
the machine's podman state is neither read nor written. The same global flags are what the recorder
is given with `--runtime-cli`, and the same environment is what it runs in: the configuration files
repeat the flags, so a podman started without them (a recorder that dropped them) still stays in
the session.

runc, not crun: crun 1.8 refuses hybrid cgroup hosts unless /sys/fs/cgroup/unified is hidden from
it, and then a container gets no cgroup v2 directory of its own, which `--container` rightly
refuses to record. runc (1.1) puts the container in both hierarchies (<parent>/libpod-<id>).

What podman and runc still create outside the session, and close() removes when the session created
it: runc's state root /run/runc (only if empty: another session may use it) and containers/image's
blob-info cache /var/lib/containers (`podman import` has no flag for it). Containers get a cgroup
parent of their own, removed in every hierarchy at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.oci import hybrid_cgroups
from tests.support.podman import write_private_config

RUNC = Path("/usr/sbin/runc")
CRUN = Path("/usr/bin/crun")
#: these VMs give root no CAP_SYS_RESOURCE: podman's defaults (1048576 files) cannot be set
ULIMITS = ("--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768")
CGROUP_ROOT = Path("/sys/fs/cgroup")
#: outside the session: removed at the end when the session created them (the first two only if empty)
HOST_DIRS = (Path("/run/runc"), Path("/run/crun"), Path("/var/lib/containers"))
NUL = b"\0"


def runtime() -> Path | None:
    """The OCI runtime that gives a container a cgroup v2 directory of its own here."""
    if RUNC.exists():
        return RUNC
    return CRUN if CRUN.exists() and not hybrid_cgroups() else None


def missing() -> str | None:
    """Why these containers cannot run here, naming the Debian package."""
    if os.geteuid() != 0:
        return "record --container tests run rootful podman containers: run as root"
    for tool, package in (("podman", "podman"), ("conmon", "conmon")):
        if not shutil.which(tool) and not Path(f"/usr/bin/{tool}").exists():
            return f"{tool} not found: apt-get install {package}"
    if runtime() is None:
        return "runc not found (crun cannot give a container its own cgroup v2 on a hybrid host): apt-get install runc"
    return None


def cgroup_mounts() -> list[str]:
    """The cgroup mounts (mount point, options, type): what the session must leave as it found."""
    return sorted(line.split(" - ")[0].split(" ", 4)[4] + " " + line.split(" - ")[1]
                  for line in Path("/proc/self/mountinfo").read_text().splitlines() if "cgroup" in line)


def _processes(needle: str) -> list[int]:
    """Live processes whose command line mentions `needle` (the session's directory)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
    return found


@dataclass
class Session:
    """One private podman under `base` (a fresh temporary directory); close() always."""

    base: Path

    def __post_init__(self) -> None:
        self.tag = uuid.uuid4().hex[:12]
        self.cgroup_parent = f"/seccomp-gen-rec-{self.tag}"
        self.created = [d for d in HOST_DIRS if not d.exists()]
        write_private_config(self.base)

    def env(self) -> dict[str, str]:
        """podman's environment, the recorder's too: the private containers.conf and storage.conf, which
        say what the global flags say, so that a podman run without them never touches the machine's."""
        return {**os.environ, "CONTAINERS_CONF": str(self.base / "containers.conf"),
                "CONTAINERS_STORAGE_CONF": str(self.base / "storage.conf"), "TMPDIR": str(self.base / "imagetmp")}

    def global_args(self) -> list[str]:
        """podman's global flags: the session's storage, run root, tmp dir, runtime."""
        b = self.base
        return ["--root", str(b / "root"), "--runroot", str(b / "runroot"), "--tmpdir", str(b / "tmp"),
                "--network-config-dir", str(b / "net"), "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
                "--events-backend", "file", "--runtime", str(runtime())]

    def podman(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["podman", *self.global_args(), *args], capture_output=True, text=True,
                              timeout=timeout, env=self.env(), stdin=subprocess.DEVNULL)

    def import_image(self, tar: Path, name: str) -> str:
        ref = f"localhost/{name}:test"
        proc = self.podman("import", str(tar), ref, timeout=300)
        if proc.returncode != 0:
            raise AssertionError(f"podman import failed: {proc.stderr[-500:]}")
        return ref

    def start(self, image: str, name: str, script: str) -> dict[str, Any]:
        """`podman run -d` of `sh -c script` (no network, no capabilities); its inspect once running."""
        proc = self.podman("run", "-d", "--pull", "never", "--network", "none", "--cap-drop", "all", *ULIMITS,
                           "--cgroup-parent", self.cgroup_parent, "--name", name, image, "/bin/sh", "-c", script)
        if proc.returncode != 0:
            raise AssertionError(f"podman run {name} failed: {proc.stderr[-500:]}")
        return self.wait_state(name, "running")

    def inspect(self, name: str) -> dict[str, Any]:
        proc = self.podman("container", "inspect", "--format", "json", name, timeout=60)
        if proc.returncode != 0:
            raise AssertionError(f"podman inspect {name} failed: {proc.stderr[-300:]}")
        entry: dict[str, Any] = json.loads(proc.stdout)[0]
        return entry

    def wait_state(self, name: str, status: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (entry := self.inspect(name))["State"]["Status"] != status:
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} is {entry['State']['Status']}, not {status}")
            time.sleep(0.1)
        return entry

    def close(self) -> list[str]:
        """Remove every container, kill what is left of the session, remove its cgroups and the host
        directories it created; what had to be forced or could not be removed."""
        problems = []
        self.podman("rm", "--force", "--all", "--time", "0", timeout=120)
        deadline = time.monotonic() + 15  # conmon and its `podman container cleanup` exit just after rm returns
        while _processes(str(self.base)) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in _processes(str(self.base)):
            problems.append(f"killed {pid}")
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        problems += [f"cgroup not removed: {d}" for d in self._remove_cgroups()]
        for directory in self.created:
            if directory.name in ("runc", "crun"):
                with contextlib.suppress(OSError):
                    directory.rmdir()
            else:
                shutil.rmtree(directory, ignore_errors=True)
        shutil.rmtree(self.base, ignore_errors=True)
        return problems

    def _remove_cgroups(self) -> list[str]:
        """rmdir the cgroup parent's tree in every hierarchy, children first; what could not go."""
        left = []
        for hierarchy in (p for p in CGROUP_ROOT.iterdir() if p.is_dir()):
            top = hierarchy / self.cgroup_parent.lstrip("/")
            if top.is_dir():
                left += sorted((str(d) for d in top.rglob("*") if d.is_dir()), key=lambda d: -d.count("/"))
                left.append(str(top))
        deadline = time.monotonic() + 10
        while left and time.monotonic() < deadline:
            for path in list(left):
                try:
                    os.rmdir(path)
                except FileNotFoundError:
                    pass
                except OSError:
                    continue
                left.remove(path)
            if left:
                time.sleep(0.1)
        return left
