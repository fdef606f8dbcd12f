#!/usr/bin/env python3
"""Measure what runc and crun call under the container's seccomp filter before the entrypoint runs.

This is the evidence behind generator/data/runtime_required.json. For each runtime and mode
(no-new-privileges on / privilege escalation allowed):

1. The entrypoint is the smallest possible program: a static binary whose only syscall is
   exit_group(0). It is recorded with `seccomp-gen record` outside any container (execve and
   exit_group) and `seccomp-gen generate --runtime R --no-new-privileges|--allow-privilege-escalation`
   makes its profile, translated into the bundle's linux.seccomp as CRI-O/containerd do (seccomp_gen/prove/oci.py).
2. Candidates: the table's names for that runtime/mode, plus (when strace is installed) every
   syscall that `strace -f` sees the runtime's init make after the filter is loaded (prctl
   PR_SET_SECCOMP or seccomp SECCOMP_SET_MODE_FILTER) and up to the entrypoint's execve, under a
   filter that allows every syscall.
3. The full profile (generated + all candidates) must start the container every time; then each
   candidate is removed in turn and the container is run --reps times, on each --path: `run` (the
   one-step `RUNTIME run`), `create-start` (`RUNTIME create` + `RUNTIME start`, the way CRI-O,
   podman's conmon and containerd start a container; tests/support/oci_lifecycle.py) and `podman`
   (podman 4.3 with --security-opt seccomp=FILE in a private session, tests/support/podman.py). The
   strace candidates are collected on run and on create-start. A name is `required` when
   every run without it fails, `intermittent` when some do, `unneeded` when none does.

Runs as root with runc, crun, podman (Debian packages runc, crun, podman) and busybox-static installed. Every
container is deleted afterwards (tests/support/oci.py). Example:

    sudo .venv/bin/python scripts/probe_runtime_required.py --reps 3 --json probe.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seccomp_gen.generator import context, profile, tables
from seccomp_gen.ground import syscalls
from seccomp_gen.prove import oci
from tests.support import oci as oci_support
from tests.support import oci_lifecycle
from tests.support import podman as podman_support
from tests.support.images import busybox_tar

EXIT0_C = r"""
/* The smallest entrypoint: its only syscall is exit_group(0). */
void _start(void) {
    __asm__ volatile("mov $231, %eax\n\txor %edi, %edi\n\tsyscall\n");
    for (;;) {}
}
"""
MODES = {"no_new_privileges": True, "privilege_escalation": False}
PATHS = ("run", "create-start", "podman")
_LINE = re.compile(r"^(\d+) +(?:<\.\.\. [a-z0-9_]+ resumed>|([a-z0-9_]+)\()")
_LOAD = re.compile(r"prctl\(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, \{len="
                   r"|seccomp\(SECCOMP_SET_MODE_FILTER, [^,]*, \{len=")
_CHILD = re.compile(r"^\d+ +(?:<\.\.\. )?(?:clone3?|fork|vfork)(?: resumed>|\().*= (\d+)$")


def build_exit0(out: Path) -> Path:
    """The exit_group(0) entrypoint (x86_64), built with gcc -static -nostdlib."""
    if syscalls.native_arch() != "SCMP_ARCH_X86_64":
        raise SystemExit("the exit0 entrypoint is x86_64 assembly")
    source = out / "exit0.c"
    source.write_text(EXIT0_C)
    binary = out / "exit0"
    subprocess.run(["gcc", "-static", "-nostdlib", "-O2", "-o", str(binary), str(source)], check=True)
    return binary


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "seccomp_gen", *args], capture_output=True, text=True, timeout=120)


def record(argv: Sequence[str], out: Path, rootfs: Path | None = None) -> Path:
    extra = ["--rootfs", str(rootfs)] if rootfs else []
    proc = cli("record", "-q", "-o", str(out), *extra, "--", *argv)
    if not out.exists():
        raise SystemExit(f"recording failed: {proc.stderr}")
    return out


def generated(rec: Path, runtime: str, nnp: bool, out: Path, baseline: str = "crio") -> profile.Profile:
    """`seccomp-gen generate` for the runtime and mode; the profile it writes."""
    out.mkdir(parents=True, exist_ok=True)
    mode = "--no-new-privileges" if nnp else "--allow-privilege-escalation"
    proc = cli("generate", str(rec), "--name", "probe", "--baseline", baseline, "--runtime", runtime, mode,
               "--out", str(out), "--format", "json")
    if proc.returncode != 0:
        raise SystemExit(f"generate failed: {proc.stderr}")
    return profile.load(out / "probe.json")


def target(nnp: bool, runtime: str) -> context.Context:
    native = syscalls.native_arch()
    return context.build([native], [native], runtime=runtime, no_new_privileges=nnp)


def all_names() -> tuple[str, ...]:
    native = syscalls.native_arch()
    names = {syscalls.name_of(native, nr) for nr in range(1024)}
    return tuple(sorted(n for n in names if n and not n.startswith("syscall_")))


def post_filter_names(trace: str) -> dict[str, int]:
    """Syscalls `strace -f` shows the filtered process (and what it forks) making after it loaded
    the filter, up to its execve."""
    filtered: set[int] = set()
    done: set[int] = set()
    counts: dict[str, int] = {}
    for line in trace.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        pid, name = int(m.group(1)), m.group(2)
        if not filtered and _LOAD.search(line):
            filtered.add(pid)
            continue
        if pid in filtered and pid not in done and name:
            counts[name] = counts.get(name, 0) + 1
            if name in ("execve", "execveat"):
                done.add(pid)
        child = _CHILD.match(line)
        if child and pid in filtered:
            filtered.add(int(child.group(1)))
    return counts


def _strace_run(c: oci_support.Container, trace: Path) -> None:
    argv = [*oci_support.runtime_argv(c.runtime, c.state_root), "run", "--bundle", str(c.bundle), c.container_id]
    subprocess.run(["strace", "-f", "-qq", "-o", str(trace), *argv], stdin=subprocess.DEVNULL,
                   capture_output=True, timeout=60)


def _strace_create_start(c: oci_support.Container, trace: Path) -> None:
    """strace -f of `create` follows the init until it exits, so it ends only after `start`."""
    pidfile = c.bundle / "init.pid"
    argv = [*oci_support.runtime_argv(c.runtime, c.state_root), "create", "--bundle", str(c.bundle),
            "--pid-file", str(pidfile), c.container_id]
    with open(c.bundle / "stdout", "wb") as out:
        tracer = subprocess.Popen(["strace", "-f", "-qq", "-o", str(trace), *argv], stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=out)
        deadline = time.monotonic() + 30
        while not pidfile.exists() and tracer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # create itself exits after writing the pid file
        oci_lifecycle.start(c, 30)
        tracer.wait(timeout=60)
    oci_lifecycle.reap_orphans()


def discover(runtime: str, nnp: bool, work: Path, rootfs: Path, path: str) -> dict[str, int]:
    """Run the entrypoint under strace with a filter that allows every syscall (but is a real
    filter: default ERRNO) along `path` (run, create-start) and return what the runtime calls after
    loading it."""
    everything = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
                  "syscalls": [{"names": list(all_names()), "action": "SCMP_ACT_ALLOW"}]}
    trace = work / f"strace-{runtime}-{int(nnp)}-{path}.txt"
    with oci_support.container(runtime, work, rootfs, ["/exit0"], everything, nnp) as c:
        (_strace_run if path == "run" else _strace_create_start)(c, trace)
    left = oci_support.leftovers(c)
    if left:
        raise SystemExit("; ".join(left))
    counts = post_filter_names(trace.read_text())
    if not counts:
        raise SystemExit(f"{runtime}: no filter load found in {trace}")
    return counts


@dataclass
class Site:
    """Where the containers run: the work directory, the exit0 root, and (path podman) its image."""

    work: Path
    rootfs: Path
    podman: podman_support.Podman | None = None
    image: str = ""

    def starts(self, path: str, runtime: str, seccomp: profile.Profile, nnp: bool, reps: int) -> list[bool]:
        """Did the exit0 entrypoint run to its end (status 0, no output), `reps` times?"""
        doc = profile.to_json(seccomp)
        if path == "podman":
            assert self.podman is not None
            file = self.work / "podman-profile.json"
            file.write_text(json.dumps(doc))
            return [self.podman.run(self.image, runtime, ["/exit0"], file, nnp).started(b"") for _ in range(reps)]
        run = oci_support.run if path == "run" else oci_lifecycle.create_start
        return [run(runtime, self.work, self.rootfs, ["/exit0"], doc, nnp).started(b"") for _ in range(reps)]


def sweep(site: Site, path: str, runtime: str, nnp: bool, full: profile.Profile, candidates: Sequence[str],
          reps: int) -> dict[str, Any]:
    """Remove each candidate from the full profile in turn and classify it by how often the start fails."""
    control = site.starts(path, runtime, full, nnp, reps)
    required, intermittent, unneeded = [], [], []
    failures: dict[str, str] = {}
    for name in candidates:
        results = site.starts(path, runtime, oci.without(full, name), nnp, reps)
        failures[name] = f"{results.count(False)}/{reps}"
        if not any(results):
            required.append(name)
        elif all(results):
            unneeded.append(name)
        else:
            intermittent.append(name)
    return {"full_profile_starts": control, "required": required, "intermittent": intermittent,
            "unneeded": unneeded, "failures": failures, "runs": reps * (len(candidates) + 1)}


def probe(runtime: str, mode: str, site: Site, rec: Path, opts: argparse.Namespace, use_strace: bool) -> dict[str, Any]:
    nnp = MODES[mode]
    prof = generated(rec, runtime, nnp, site.work / f"gen-{runtime}-{mode}", opts.baseline)
    seccomp = oci.translate(prof, target(nnp, runtime))
    table = tables.runtime_needs(runtime, nnp).names
    seen = {path: discover(runtime, nnp, site.work, site.rootfs, path) if use_strace else {}
            for path in ("run", "create-start")}
    native = syscalls.native_arch()
    candidates = sorted(n for n in {*table, *seen["run"], *seen["create-start"]}
                        if syscalls.number_of(native, n) is not None)
    full = oci.with_allowed(seccomp, tuple(candidates))
    if opts.only:
        candidates = [n for n in candidates if n in opts.only]
    paths = {path: sweep(site, path, runtime, nnp, full, candidates, opts.reps) for path in opts.path or PATHS}
    for path, result in paths.items():
        result["generated_profile_starts"] = site.starts(path, runtime, seccomp, nnp, 1)[0]
    return {
        "runtime": runtime, "mode": mode, "baseline": opts.baseline,
        "default": f"{seccomp.default_action} {seccomp.default_errno_ret}",
        "generated_names": sorted(seccomp.names()), "table": list(table),
        "strace_post_filter": seen, "tried": candidates, "paths": paths,
    }


def report(r: dict[str, Any], reps: int, use_strace: bool) -> None:
    """Print one runtime/mode's result, path by path."""
    print(f"{r['version']} {r['mode']} (default {r['default']}): tried {len(r['tried'])} names")
    for path, p in r["paths"].items():
        print(f"  [{path}] {p['runs']} runs; full profile starts {sum(p['full_profile_starts'])}/{reps}; "
              f"generated profile starts: {p['generated_profile_starts']}")
        print(f"    required:     {' '.join(p['required']) or '-'}")
        sometimes = " ".join(f"{n} ({p['failures'][n]} failed)" for n in p["intermittent"])
        print(f"    intermittent: {sometimes or '-'}")
        print(f"    unneeded:     {' '.join(p['unneeded']) or '-'}")
    if use_strace:
        for path, seen in r["strace_post_filter"].items():
            print(f"  strace after the filter ({path}): {' '.join(sorted(seen))}")


def version(runtime: str) -> str:
    out = subprocess.run([runtime, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runtime", action="append", choices=oci_support.RUNTIMES)
    ap.add_argument("--mode", action="append", choices=sorted(MODES))
    ap.add_argument("--path", action="append", choices=PATHS,
                    help="how the container is started (default: all): run, create-start, podman")
    ap.add_argument("--reps", type=int, default=3, help="runs per removed name (default 3)")
    ap.add_argument("--baseline", default="crio", help="baseline for generate (default crio: ERRNO ENOSYS)")
    ap.add_argument("--no-strace", action="store_true", help="only the table's names as candidates")
    ap.add_argument("--only", action="append", default=[], metavar="NAME",
                    help="remove only these names (the full profile keeps every candidate)")
    ap.add_argument("--json", metavar="FILE", help="write the results as JSON")
    opts = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the containers are rootful")
    for tool in ("busybox", *(opts.runtime or oci_support.RUNTIMES)):
        why = oci_support.missing_tool(tool)
        if why:
            raise SystemExit(why)
    if "podman" in (opts.path or PATHS) and podman_support.missing():
        raise SystemExit(podman_support.missing())
    use_strace = not opts.no_strace and subprocess.run(["which", "strace"], capture_output=True).returncode == 0
    results = []
    with tempfile.TemporaryDirectory(prefix="seccomp-gen-probe-") as tmp:
        site = Site(Path(tmp), Path(tmp) / "rootfs")
        exit0 = build_exit0(site.work)
        oci_support.make_rootfs(site.rootfs, {"/exit0": exit0})
        rec = record(["/exit0"], site.work / "exit0.recording.json", site.rootfs)
        if "podman" in (opts.path or PATHS):
            site.podman = podman_support.Podman(site.work / "podman")
            site.image = site.podman.import_image(busybox_tar(site.work, {"/exit0": exit0}), "probe-exit0")
        try:
            for runtime in opts.runtime or oci_support.RUNTIMES:
                for mode in opts.mode or MODES:
                    r = probe(runtime, mode, site, rec, opts, use_strace)
                    r["version"] = version(runtime)
                    results.append(r)
                    report(r, opts.reps, use_strace)
        finally:
            if site.podman is not None:
                print(f"podman session closed: {site.podman.close() or 'nothing left'}")
    summary = {"kernel": platform.release(), "date": datetime.date.today().isoformat(), "reps": opts.reps,
               "podman": subprocess.run(["podman", "--version"], capture_output=True, text=True).stdout.strip(),
               "results": results}
    if opts.json:
        Path(opts.json).write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
