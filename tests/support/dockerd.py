"""A private dockerd for the loader tests: moby's own seccomp loader (the client reads
`--security-opt seccomp=FILE`, dockerd resolves it, containerd's shim hands it to runc).

The daemon is started by the test with everything of its own under one temporary directory: data
root, exec root, pid file, socket, daemon.json and trust key (`deprecated-key-path`; without it
20.10 writes /etc/docker/key.json), and the containerd it manages (its config, state and socket live
under the exec root). Networking is off (`--iptables=false --ip6tables=false --ip-forward=false
--ip-masq=false --bridge=none`, containers run with `--network none`), storage is vfs (no overlay
mounts), the cgroup driver is cgroupfs under a cgroup parent of its own. `stop()` ends it with
SIGTERM, then SIGKILLs whatever of it is left (dockerd, containerd - in its own session, so not in
dockerd's process group - shims, runc and container processes, all found by their reference to the
temporary directory), unmounts what it left, removes its cgroups and key, and says what it had to
force. `host_state()` is compared before and after: iptables and ip6tables rules, the forwarding
sysctls, the cgroup mounts and /etc/docker.
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "docker.io"
#: The Debian client (/usr/local/bin/docker on these VMs is another static client).
DOCKER = Path("/usr/bin/docker")
DOCKERD = Path("/usr/sbin/dockerd")
CGROUP_ROOT = Path("/sys/fs/cgroup")
SYSCTLS = ("/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding")
#: `docker run` exits 125 when the daemon fails, 126/127 when the container's command cannot run
START_FAILURES = (125, 126, 127)


def missing() -> str | None:
    """Why dockerd cannot be used here, naming the Debian package."""
    if os.geteuid() != 0:
        return "dockerd is started rootful: run as root"
    for path in (DOCKERD, DOCKER, Path("/usr/bin/containerd"), Path("/usr/sbin/runc")):
        if not path.exists() and not shutil.which(path.name):
            return f"{path} not found: apt-get install {PACKAGE}"
    return None


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _save(tool: str) -> str:
    if shutil.which(tool) is None:
        return ""
    return subprocess.run([tool], capture_output=True, text=True, timeout=30).stdout


def host_state() -> dict[str, object]:
    """What dockerd must not change: firewall rules, forwarding, cgroup mounts, /etc/docker."""
    mounts = [" ".join(line.split()[4:]) for line in _read("/proc/self/mountinfo").splitlines()
              if " - cgroup" in line]
    etc = sorted(p.name for p in Path("/etc/docker").iterdir()) if Path("/etc/docker").is_dir() else None
    return {"iptables": _save("iptables-save"), "ip6tables": _save("ip6tables-save"),
            "sysctls": {p: _read(p) for p in SYSCTLS}, "cgroup_mounts": mounts, "etc_docker": etc}


@dataclass
class Daemon:
    """A running private dockerd and the docker client bound to its socket."""

    root: Path
    proc: subprocess.Popen[bytes]
    cgroup_parent: str

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def log(self) -> Path:
        return self.root / "dockerd.log"

    def docker(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        """`/usr/bin/docker -H unix://SOCKET ARGS`, with a client config of its own."""
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "HOME": str(self.root),
               "DOCKER_CONFIG": str(self.root / "client")}
        return subprocess.run([str(DOCKER), "-H", f"unix://{self.socket}", *args], env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)

    def log_tail(self, lines: int = 15) -> str:
        text = [line for line in _read(str(self.log)).splitlines() if "module=grpc" not in line]
        return "\n".join(text[-lines:])


def dockerd_argv(root: Path, cgroup_parent: str) -> list[str]:
    """The daemon's command line: every path under `root`, no networking, vfs, cgroupfs."""
    config = root / "daemon.json"
    config.write_text(json.dumps({"deprecated-key-path": str(root / "key.json")}))
    return [str(DOCKERD), "--config-file", str(config), "--data-root", str(root / "data"),
            "--exec-root", str(root / "exec"), "--pidfile", str(root / "docker.pid"),
            "-H", f"unix://{root / 'docker.sock'}", "--iptables=false", "--ip6tables=false",
            "--ip-forward=false", "--ip-masq=false", "--bridge=none", "--storage-driver=vfs",
            "--exec-opt", "native.cgroupdriver=cgroupfs", "--cgroup-parent", cgroup_parent]


def start(root: Path, timeout: float = 60) -> Daemon:
    """Start dockerd in a session of its own and wait until `docker version` answers on its socket.
    On failure it is stopped again and RuntimeError carries its log."""
    root.mkdir(parents=True, exist_ok=True)
    cgroup_parent = f"/seccomp-gen-dockerd-{uuid.uuid4().hex[:8]}"
    with open(root / "dockerd.log", "wb") as log:
        proc = subprocess.Popen(dockerd_argv(root, cgroup_parent), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    daemon = Daemon(root, proc, cgroup_parent)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if daemon.socket.exists() and daemon.docker("version", timeout=10).returncode == 0:
            return daemon
        time.sleep(0.2)
    tail = daemon.log_tail()
    stop(daemon)
    raise RuntimeError(f"dockerd did not come up (status {proc.poll()}):\n{tail}")


def processes_of(root: Path) -> list[tuple[int, str]]:
    """Live processes that belong to the daemon under `root`: their command line or their root
    directory names it (dockerd, containerd, shims, runc, the containers' own processes)."""
    found = []
    marker = str(root.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            proc_root = os.readlink(entry / "root")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and (marker in cmdline or proc_root.startswith(marker)):
            found.append((int(entry.name), cmdline[:120]))
    return found


def mounts_of(root: Path) -> list[str]:
    """Mount points under `root` (data-root bind mount, network namespaces, container roots)."""
    marker = str(root.resolve())
    points = [line.split()[4] for line in _read("/proc/self/mountinfo").splitlines()]
    return [p for p in points if p == marker or p.startswith(marker + "/")]


def cgroups_of(parent: str) -> list[Path]:
    """The cgroup directories under the daemon's cgroup parent, deepest first, in every hierarchy."""
    found: list[Path] = []
    for hierarchy in [CGROUP_ROOT, *CGROUP_ROOT.iterdir()] if CGROUP_ROOT.is_dir() else []:
        top = hierarchy / parent.lstrip("/")
        if top.is_dir():
            found.extend(Path(d) for d, _, _ in os.walk(top))
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def leftovers(daemon: Daemon) -> list[str]:
    """Anything of the daemon still on the host."""
    return ([f"process {pid}: {cmd}" for pid, cmd in processes_of(daemon.root)]
            + [f"mount {m}" for m in mounts_of(daemon.root)]
            + [f"cgroup {c}" for c in cgroups_of(daemon.cgroup_parent)])


def _wait_gone(root: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while processes_of(root) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not processes_of(root)


def _remove_containers(daemon: Daemon) -> None:
    """Every container of the daemon removed while it still runs, so their shims end with them."""
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        listed = daemon.docker("ps", "-aq", timeout=30)
        ids = listed.stdout.decode().split()
        if ids:
            daemon.docker("rm", "-f", *ids, timeout=60)
    deadline = time.monotonic() + 10
    while any("containerd-shim" in cmd for _pid, cmd in processes_of(daemon.root)) and time.monotonic() < deadline:
        time.sleep(0.1)


def stop(daemon: Daemon, grace: float = 20) -> list[str]:
    """Stop the daemon and remove everything of it; return what had to be forced (processes that
    ignored SIGTERM, mounts dockerd did not unmount). Cgroup parents dockerd leaves by design
    (cgroupfs keeps them) are removed silently when empty."""
    forced: list[str] = []
    if daemon.proc.poll() is None:
        _remove_containers(daemon)
        os.killpg(daemon.proc.pid, signal.SIGTERM)
        try:
            daemon.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            forced.append("dockerd ignored SIGTERM")
            os.killpg(daemon.proc.pid, signal.SIGKILL)
            daemon.proc.wait(timeout=30)
    if not _wait_gone(daemon.root, 10):
        for pid, cmd in processes_of(daemon.root):
            # A shim of a removed container may outlive containerd (shims are detached by design):
            # killing it is tidying up after containerd, not a leak of the test's own making.
            if "containerd-shim" not in cmd:
                forced.append(f"killed {pid}: {cmd}")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _wait_gone(daemon.root, 10)
    for point in sorted(mounts_of(daemon.root), key=len, reverse=True):
        forced.append(f"unmounted {point}")
        subprocess.run(["umount", "-l", point], capture_output=True, timeout=30)
    for cgroup in cgroups_of(daemon.cgroup_parent):
        try:
            cgroup.rmdir()
        except OSError as exc:
            forced.append(f"cgroup {cgroup} not removed: {exc}")
    return forced


@dataclass(frozen=True)
class Run:
    """One `docker run` to its end."""

    returncode: int
    stdout: bytes
    stderr: bytes

    def started(self, stdout: bytes, status: int = 0) -> bool:
        """The entrypoint ran to its normal end: same output and status as outside the container."""
        return self.returncode == status and self.stdout == stdout

    def why(self) -> str:
        return f"status {self.returncode}: {self.stderr.decode(errors='replace').strip()[-400:]}"


def run(daemon: Daemon, image: str, argv: Sequence[str], seccomp: Path | None, no_new_privileges: bool,
        timeout: float = 60) -> Run:
    """`docker run --rm --network none` of argv in image, with the profile file as it is on disk
    (`--security-opt seccomp=FILE`) and no-new-privileges on or off; a run that hangs is removed."""
    name = f"seccomp-gen-{uuid.uuid4().hex[:12]}"
    opts = ["--security-opt", f"seccomp={seccomp}"] if seccomp is not None else []
    if no_new_privileges:
        opts += ["--security-opt", "no-new-privileges"]
    try:
        proc = daemon.docker("run", "--rm", "--network", "none", "--name", name, *opts, image, *argv,
                             timeout=timeout)
        result = Run(proc.returncode, proc.stdout, proc.stderr)
    except subprocess.TimeoutExpired:
        result = Run(-1, b"", b"timed out")
    if result.returncode != 0:
        # a container whose start failed half-way (runc init died after `create`) is not removed by
        # --rm, and its shim stays with it
        daemon.docker("rm", "-f", name)
    return result
