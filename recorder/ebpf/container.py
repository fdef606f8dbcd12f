"""`record --engine ebpf --container NAME_OR_ID [--runtime-cli CMD]`: find a running container's cgroup.

The container runtime's own CLI is asked (`podman inspect`, `crictl inspect`) for the container's full
id, its state and its init process; that process's cgroup v2 line in /proc/PID/cgroup gives the
cgroup, which is then recorded as `--cgroup` records one. The cgroup must carry the container's full
id in one of the directory names its runtime gives containers (RUNTIME_CLIS): a pid can be reused,
and a container whose runtime did not give it a cgroup v2 directory of its own (crun with the v2
hierarchy hidden on a hybrid host) shares its parent's, so any other path could record other
processes. The deepest such directory is recorded with everything below it (crun's `container`
sub-cgroup under a systemd scope, for one).
"""

from __future__ import annotations

import json
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seccomp_gen.ground.errors import SeccompGenError

#: How long the runtime CLI may take to answer (podman waits on its storage lock, crictl on the socket).
INSPECT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RuntimeCli:
    """What one runtime CLI says about a container, and where in its JSON."""

    inspect: tuple[str, ...]  # the sub-command and its flags, the container's name or id appended
    id_at: tuple[str, ...]  # path to the full container id
    state_at: tuple[str, ...]  # path to its state
    running: str  # the state of a running container
    pid_at: tuple[str, ...]  # path to the pid of its init process (0 when it has none)
    cgroup_names: tuple[str, ...]  # the container's cgroup directory, "{id}" its full id
    source: str  # where this is known from


#: Knowledge, with where it comes from. One entry per CLI, picked by the program's base name.
RUNTIME_CLIS: dict[str, RuntimeCli] = {
    "podman": RuntimeCli(
        inspect=("container", "inspect", "--format", "json"), id_at=("Id",), state_at=("State", "Status"),
        running="running", pid_at=("State", "Pid"), cgroup_names=("libpod-{id}.scope", "libpod-{id}"),
        source="podman 4.3.1 here: `podman container inspect --format json NAME` (containers only) prints a "
               "list of one object per match, State.Status 'running'/'exited'/'paused'/'created', State.Pid "
               "0 when not running. The container's cgroup: libpod-<id>.scope under the systemd cgroup "
               "manager, <cgroup-parent>/libpod-<id> under cgroupfs (/libpod_parent/libpod-<id> by default; "
               "in both hierarchies with runc on this hybrid host); conmon's (libpod-conmon-<id>.scope, "
               "<parent>/conmon) does not match"),
    "crictl": RuntimeCli(
        inspect=("inspect", "--output", "json"), id_at=("status", "id"), state_at=("status", "state"),
        running="CONTAINER_RUNNING", pid_at=("info", "pid"),
        cgroup_names=("crio-{id}.scope", "crio-{id}", "cri-containerd-{id}.scope", "{id}"),
        source="cri-tools cmd/crictl (outputStatusData): one id prints one object {status, info}, several a list; "
               "status.state is the CRI ContainerState name; info.pid is the runtime's verbose info (CRI-O and "
               "containerd both). Cgroups: CRI-O crio-<id>.scope (systemd) or <pod cgroup>/crio-<id> "
               "(cgroupfs); containerd cri-containerd-<id>.scope (systemd) or <pod cgroup>/<id> (cgroupfs)"),
}


@dataclass(frozen=True)
class Container:
    """A running container, found: what the recording's source.details say about it."""

    given: str
    runtime_cli: str
    id: str
    pid: int
    cgroup: str  # as /proc/PID/cgroup names it, the container's own directory: "/libpod_parent/libpod-<id>"

    def details(self) -> dict[str, Any]:
        return {"name_or_id": self.given, "runtime_cli": self.runtime_cli, "id": self.id, "pid": self.pid,
                "cgroup": self.cgroup}


def split_cli(text: str) -> list[str]:
    """--runtime-cli "podman --root /x --runroot /y": the program and its global flags (shell quoting)."""
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise SeccompGenError(f"--runtime-cli {text!r}: {exc}") from None
    if not argv or Path(argv[0]).name not in RUNTIME_CLIS:
        raise SeccompGenError(f"--runtime-cli {text!r}: expected {' or '.join(RUNTIME_CLIS)} (and its global "
                              "flags, e.g. \"podman --root DIR --runroot DIR\")")
    return argv


def find(given: str, cli: list[str]) -> Container:
    """The running container `given` (a name or id, as the CLI takes it), with its cgroup."""
    spec = RUNTIME_CLIS[Path(cli[0]).name]
    entry = _one(_inspect(given, cli, spec), given, _label(cli, spec))
    cid, state, pid = (_field(entry, path, given) for path in (spec.id_at, spec.state_at, spec.pid_at))
    if not isinstance(cid, str) or not cid:
        raise SeccompGenError(f"--container {given}: {_label(cli, spec)} gave no container id")
    if state != spec.running or not isinstance(pid, int) or pid <= 0:
        raise SeccompGenError(f"--container {given}: the container is not running (state: {state})")
    line = unified_line(pid, given)
    return Container(given, shlex.join(cli), cid, pid, container_dir(line, spec, cid, given))


def _label(cli: list[str], spec: RuntimeCli) -> str:
    """`podman container inspect`: the command, as the messages name it."""
    return " ".join([Path(cli[0]).name, *(word for word in spec.inspect if not word.startswith("-"))][:3])


def _inspect(given: str, cli: list[str], spec: RuntimeCli) -> Any:
    argv, label = [*cli, *spec.inspect, given], _label(cli, spec)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=INSPECT_TIMEOUT_S,
                              stdin=subprocess.DEVNULL, errors="replace")
    except FileNotFoundError:
        raise SeccompGenError(f"--container {given}: {cli[0]} not found (--runtime-cli names the runtime's "
                              "CLI)") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SeccompGenError(f"--container {given}: {shlex.join(argv)} failed: {exc}") from None
    if proc.returncode != 0:
        last = next((line.strip() for line in reversed(proc.stderr.splitlines()) if line.strip()), "")
        raise SeccompGenError(f"--container {given}: {label} failed (exit {proc.returncode}): "
                              f"{last[:300] or 'no message'}")
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise SeccompGenError(f"--container {given}: {label} did not print JSON") from None


def _one(doc: Any, given: str, label: str) -> dict[str, Any]:
    """podman prints a list, crictl an object for one container and a list for several."""
    entries = doc if isinstance(doc, list) else [doc]
    if not entries:
        raise SeccompGenError(f"--container {given}: no such container")
    if len(entries) > 1:
        raise SeccompGenError(f"--container {given}: {label} found {len(entries)} containers; "
                              "give one full id")
    if not isinstance(entries[0], dict):
        raise SeccompGenError(f"--container {given}: unexpected {label} output")
    return entries[0]


def _field(entry: dict[str, Any], path: tuple[str, ...], given: str) -> Any:
    value: Any = entry
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise SeccompGenError(f"--container {given}: the inspect output has no {'.'.join(path)}")
        value = value[key]
    return value


def unified_line(pid: int, given: str, proc_root: Path = Path("/proc")) -> str:
    """The cgroup v2 path of process `pid` ("0::/PATH"; on hybrid hosts the one such line among the
    v1 controllers' lines)."""
    try:
        text = (proc_root / str(pid) / "cgroup").read_text()
    except OSError:
        raise SeccompGenError(f"--container {given}: its process {pid} is gone (did the container stop?)") from None
    for line in text.splitlines():
        if line.startswith("0::"):
            return line[3:]
    raise SeccompGenError(f"--container {given}: process {pid} is in no cgroup v2 directory (no 0:: line in "
                          f"/proc/{pid}/cgroup)")


def container_dir(path: str, spec: RuntimeCli, cid: str, given: str) -> str:
    """The deepest directory of `path` that the runtime names after the container, and the path up to it."""
    names = {name.format(id=cid) for name in spec.cgroup_names}
    parts = path.split("/")
    for end in range(len(parts), 0, -1):
        if parts[end - 1] in names:
            return "/".join(parts[:end]) or "/"
    raise SeccompGenError(f"--container {given}: its cgroup {path} is not the container's own (expected a "
                          f"directory named {' or '.join(sorted(n.replace(cid, '<id>') for n in names))}, "
                          f"<id> {cid[:12]}...): not recording it, it may hold other processes")
