"""Running a generated profile in real OCI runtimes (runc, crun): bundles, runs, and clean-up.

Used by tests/test_oci_runtimes.py and scripts/probe_runtime_required.py. Every container is
rootful, lives in a bundle under a temporary directory with its own state root (`--root`), gets a
fresh id, and is always deleted (`delete -f`) whatever happened; `leftovers()` then proves that no
process, mount, state directory or cgroup of it is left.

crun 1.8 refuses hybrid cgroup hosts (cgroup v1 controllers plus a cgroup2 mount at
/sys/fs/cgroup/unified that holds a controller): "cgroups in hybrid mode not supported, drop all
controllers from cgroupv2". The check runs in libcrun_cgroup_enter before the cgroup manager is
chosen, so `--cgroup-manager=disabled` alone does not help. On such a host each crun command runs in
a private mount namespace of its own (`unshare --mount --propagation private`) in which
/sys/fs/cgroup/unified is unmounted: crun then sees a legacy host, and with
`--cgroup-manager=disabled` it creates no cgroup at all. The host is not changed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

RUNTIMES = ("runc", "crun")
PACKAGES = {"runc": "runc", "crun": "crun", "busybox": "busybox-static", "unshare": "util-linux"}
BUSYBOX = Path("/bin/busybox")
UNIFIED = Path("/sys/fs/cgroup/unified")
ENV = ("PATH=/bin", "HOME=/", "LC_ALL=C")
#: busybox applets linked into the rootfs (the entrypoint scripts use no others)
APPLETS = ("sh", "echo", "cat", "tr", "wc", "sort", "head", "printf", "true", "false", "expr", "seq", "ls", "sleep")


def missing_tool(runtime: str) -> str | None:
    """Why `runtime` (runc, crun, busybox, unshare) cannot be used, naming the Debian package."""
    package = PACKAGES[runtime]
    if runtime == "busybox":
        if not BUSYBOX.exists():
            return f"{BUSYBOX} not found: apt-get install {package}"
        if not is_static(BUSYBOX):
            return f"{BUSYBOX} is dynamically linked: apt-get install {package}"
        return None
    if shutil.which(runtime) is None:
        return f"{runtime} not found: apt-get install {package}"
    return None


def is_static(path: Path) -> bool:
    """An ELF file without a PT_INTERP program header (no dynamic loader to copy into the rootfs)."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2:  # ELFCLASS64 only
        return False
    order: Literal["little", "big"] = "little" if data[5] == 1 else "big"
    phoff = int.from_bytes(data[32:40], order)
    phentsize = int.from_bytes(data[54:56], order)
    phnum = int.from_bytes(data[56:58], order)
    for i in range(phnum):
        off = phoff + i * phentsize
        if int.from_bytes(data[off:off + 4], order) == 3:  # PT_INTERP
            return False
    return True


def hybrid_cgroups() -> bool:
    """cgroup v1 controllers with a cgroup2 mount at /sys/fs/cgroup/unified that holds a controller."""
    controllers = UNIFIED / "cgroup.controllers"
    try:
        return bool(controllers.read_text().strip())
    except OSError:
        return False


def runtime_argv(runtime: str, state_root: Path) -> list[str]:
    """The runtime's command line up to the sub-command (see the module docstring for crun)."""
    if runtime == "runc":
        return ["runc", "--root", str(state_root)]
    argv = ["crun", "--cgroup-manager=disabled", "--root", str(state_root)]
    if hybrid_cgroups():
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                f'umount -l {UNIFIED} && exec "$@"', "sh", *argv]
    return argv


EXIT0_C = r"""
/* The smallest entrypoint: its only syscall is exit_group(0); execve is the runtime's. */
void _start(void) {
    __asm__ volatile("mov $231, %eax\n\txor %edi, %edi\n\tsyscall\n");
    for (;;) {}
}
"""


def build_exit0(work: Path) -> Path:
    """work/exit0: the entrypoint whose own code makes one syscall, so a runtime's needs stand alone
    (x86_64 assembly: other hosts skip)."""
    import pytest

    from seccomp_gen.ground import syscalls
    from tests.support.process import need_tool

    need_tool("gcc", "gcc")
    if syscalls.native_arch() != "SCMP_ARCH_X86_64":
        pytest.skip("the exit0 entrypoint is x86_64 assembly")
    (work / "exit0.c").write_text(EXIT0_C)
    subprocess.run(["gcc", "-static", "-nostdlib", "-O2", "-o", str(work / "exit0"), str(work / "exit0.c")],
                   check=True)
    return work / "exit0"


def make_rootfs(root: Path, files: Mapping[str, bytes | Path] = ()) -> Path:  # type: ignore[assignment]
    """A busybox-static root: /bin/busybox with applet symlinks, empty /proc /dev /sys /tmp, and
    `files` (path in the root -> bytes, or a host file copied with its mode)."""
    for sub in ("bin", "proc", "dev", "sys", "tmp", "etc"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    for applet in APPLETS:
        link = root / "bin" / applet
        if not link.is_symlink():
            link.symlink_to("busybox")
    for name, content in dict(files).items():
        target = root / name.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy2(content, target)
        else:
            target.write_bytes(content)
    return root


def config(rootfs: Path, args: Sequence[str], seccomp: Mapping[str, Any] | None, no_new_privileges: bool,
           cgroup: str, hostname: str = "seccomp-gen") -> dict[str, Any]:
    """A minimal rootful config.json: no capabilities (restricted-v2 drops them all), read-only root."""
    no_caps: dict[str, list[str]] = {k: [] for k in ("bounding", "effective", "permitted", "inheritable", "ambient")}
    linux: dict[str, Any] = {
        "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
        "cgroupsPath": cgroup,
        "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
        "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
    }
    if seccomp is not None:
        linux["seccomp"] = dict(seccomp)
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": list(ENV),
            "cwd": "/",
            "capabilities": no_caps,
            "noNewPrivileges": no_new_privileges,
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        },
        "root": {"path": str(rootfs.resolve()), "readonly": True},
        "hostname": hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=1m"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": linux,
    }


@dataclass(frozen=True)
class RunResult:
    runtime: str
    returncode: int
    stdout: bytes
    stderr: bytes
    timed_out: bool
    seconds: float

    def started(self, expected_stdout: bytes, expected_status: int = 0) -> bool:
        """Did the entrypoint run to its normal end (same output and status as outside)?"""
        return not self.timed_out and self.returncode == expected_status and self.stdout == expected_stdout

    def why(self) -> str:
        text = self.stderr.decode(errors="replace").strip().splitlines()
        last = text[-1] if text else ""
        return f"{self.runtime}: status {self.returncode}{' (timed out)' if self.timed_out else ''}: {last[:300]}"


@dataclass(frozen=True)
class Container:
    runtime: str
    bundle: Path
    state_root: Path
    container_id: str
    cgroup: str
    rootfs: Path


def _cgroup_dirs(cgroup: str) -> list[Path]:
    base = Path("/sys/fs/cgroup")
    found = []
    for hierarchy in [base, *base.iterdir()] if base.is_dir() else []:
        candidate = hierarchy / cgroup.lstrip("/")
        if candidate.exists():
            found.append(candidate)
    return found


def leftovers(c: Container) -> list[str]:
    """What a container left behind: processes rooted in its bundle, mounts, state, cgroups."""
    problems = []
    bundle = str(c.bundle.resolve())
    rootfs = str(c.rootfs.resolve())
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            root = os.readlink(proc / "root")
            cwd = os.readlink(proc / "cwd")
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if any(p.startswith((bundle, rootfs)) for p in (root, cwd)) or c.container_id.encode() in cmdline:
            problems.append(f"process {proc.name} ({cmdline[:80]!r}) is still running")
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        if bundle in line or f" {rootfs} " in line:
            problems.append(f"mount left: {line}")
    state = c.state_root / c.container_id
    if state.exists():
        problems.append(f"state directory left: {state}")
    problems.extend(f"cgroup left: {d}" for d in _cgroup_dirs(c.cgroup))
    return problems


def delete(c: Container) -> None:
    """`RUNTIME delete -f ID`: kills and removes the container if it still exists (no error if not)."""
    subprocess.run([*runtime_argv(c.runtime, c.state_root), "delete", "-f", c.container_id],
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=30)


def run_in_session(runtime: str, argv: Sequence[str], timeout: float, on_timeout: Callable[[], object], *,
                   env: Mapping[str, str] | None = None, preexec_fn: Callable[[], None] | None = None) -> RunResult:
    """Run a runtime's (or podman's) command in a session of its own to its end; on timeout the session
    is killed and `on_timeout` removes what the kill cannot reach (the container's own processes are
    not in the command's process group)."""
    import time

    start = time.monotonic()
    proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, env=None if env is None else dict(env), preexec_fn=preexec_fn)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        on_timeout()
        out, err = proc.communicate(timeout=30)
    return RunResult(runtime, proc.returncode, out, err, timed_out, time.monotonic() - start)


def _run(c: Container, timeout: float) -> RunResult:
    argv = [*runtime_argv(c.runtime, c.state_root), "run", "--bundle", str(c.bundle), c.container_id]
    return run_in_session(c.runtime, argv, timeout, lambda: delete(c))


@contextmanager
def container(runtime: str, workdir: Path, rootfs: Path, args: Sequence[str], seccomp: Mapping[str, Any] | None,
              no_new_privileges: bool) -> Iterator[Container]:
    """A bundle in a fresh directory under `workdir` (its root: the shared `rootfs`, by absolute path,
    read-only) with a fresh container id; the container is deleted on exit, always."""
    cid = f"seccomp-gen-{runtime}-{uuid.uuid4().hex[:12]}"
    bundle = workdir / cid
    bundle.mkdir(parents=True)
    state_root = workdir / f"state-{runtime}"
    state_root.mkdir(exist_ok=True, mode=0o700)
    cgroup = f"/{cid}"
    (bundle / "config.json").write_text(json.dumps(config(rootfs, args, seccomp, no_new_privileges, cgroup), indent=1))
    c = Container(runtime, bundle, state_root, cid, cgroup, rootfs)
    try:
        yield c
    finally:
        delete(c)
        shutil.rmtree(bundle, ignore_errors=True)


def run(runtime: str, workdir: Path, rootfs: Path, args: Sequence[str], seccomp: Mapping[str, Any] | None,
        no_new_privileges: bool, timeout: float = 20) -> RunResult:
    """Run one container to its end and delete it; AssertionError if anything of it is left."""
    with container(runtime, workdir, rootfs, args, seccomp, no_new_privileges) as c:
        result = _run(c, timeout)
    left = leftovers(c)
    if left:
        raise AssertionError(f"{runtime} container {c.container_id} left: " + "; ".join(left))
    return result
