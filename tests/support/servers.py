"""Real Debian servers (redis-server, nginx) under load, for tests/test_real_servers.py.

Every server runs in a session of its own (the recorder or verify at its head), so teardown can kill
the whole tree - recorder, master, workers, threads - even when a test fails half-way; ports are
chosen at runtime and every file (configs, logs, pid files, the served page) lives in the test's
tmp directory, so nothing on the host is touched and two runs never collide.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seccomp_gen.generator.narrow.rules import NOTE
from tests.support.process import session_members

SECCOMP_GEN = (sys.executable, "-m", "seccomp_gen")
#: The page nginx serves: big enough that a short or cut-off reply shows as ab's "Failed (Length)".
PAGE = "seccomp-gen real-server test\n" + "x" * 4000 + "\n"


def free_port() -> int:
    """A loopback port nobody listens on now (chosen by the kernel, so parallel runs differ)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Started:
    """One launched tree: the head process and where its output went."""

    proc: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def err(self) -> str:
        return self.stderr.read_text(errors="replace")


class Processes:
    """Every tree a test starts; close() SIGKILLs whatever of them is still alive (teardown)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.started: list[Started] = []

    def start(self, argv: Sequence[str], name: str) -> Started:
        out, err = self.tmp / f"{name}.stdout", self.tmp / f"{name}.stderr"
        with out.open("wb") as o, err.open("wb") as e:
            proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                                    start_new_session=True, cwd=self.tmp)
        started = Started(proc, out, err)
        self.started.append(started)
        return started

    def close(self) -> None:
        for started in self.started:
            kill_tree(started.proc)


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the session `proc` leads (it was started with start_new_session) and reap it. The
    servers go first and the head (recorder or verify, their parent and tracer) last, so the head
    reaps them: killed the other way round they would be orphaned to a PID 1 that may never reap."""
    for _ in range(100):
        servers = [pid for pid in session_members(proc.pid) if pid != proc.pid]
        if not servers:
            break
        for pid in servers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    for pid in session_members(proc.pid):  # whatever the head left behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_for_port(port: int, started: Started, timeout: float = 30) -> bool:
    """True once something accepts on 127.0.0.1:port; False when the tree exits first or at timeout
    (a server that a profile stops at start-up never listens)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if started.proc.poll() is not None:
            return False
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


@dataclass(frozen=True)
class Load:
    """What a load generator reports: requests it sent, requests the server answered correctly,
    requests that failed (errors, wrong replies, cut connections), and its output for messages."""

    sent: int
    served: int
    failed: int
    output: str


@dataclass(frozen=True)
class Server:
    """How to run, load and stop one server: argv, its port, a load and a clean stop."""

    argv: tuple[str, ...]
    port: int
    load: Callable[[int], Load]
    stop: Callable[[], None]


def redis(tmp: Path) -> Server:
    """redis-server on a private config: loopback, a free port, no persistence, its dir in tmp."""
    port = free_port()
    data = tmp / "redis-data"
    data.mkdir(exist_ok=True)
    conf = tmp / "redis.conf"
    conf.write_text(f'bind 127.0.0.1\nport {port}\ndaemonize no\nsave ""\nappendonly no\n'
                    f'dir {data}\nlogfile ""\nprotected-mode yes\n')

    def stop() -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):  # a stuck server is killed at teardown
            subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "SHUTDOWN", "NOSAVE"],
                           capture_output=True, timeout=10, check=False)

    return Server(("redis-server", str(conf)), port, redis_load, stop)


#: Longest a load may run: the recorded redis load takes about 10 s, nginx's 3 s.
LOAD_TIMEOUT = 60


def _run_load(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run a load generator; one that hangs (a server stuck on a denied call) is a failed run, status
    -1, with what it printed - the test reports it instead of dying on TimeoutExpired."""
    try:
        return subprocess.run(list(cmd), capture_output=True, text=True, timeout=LOAD_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        def text(raw: bytes | str | None) -> str:
            return raw.decode(errors="replace") if isinstance(raw, bytes) else raw or ""
        return subprocess.CompletedProcess(list(cmd), -1, text(exc.stdout),
                                           text(exc.stderr) + f"\n{cmd[0]} hung: killed after {LOAD_TIMEOUT} s")


REDIS_TESTS = ("set", "get", "incr", "lpush", "lpop")
REDIS_REQUESTS = 20000


def _redis_stats(port: int) -> Mapping[str, str]:
    """The server's INFO stats; empty when it does not answer within 10 s (counted as a failure)."""
    try:
        info = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "INFO", "stats"],
                              capture_output=True, text=True, timeout=10, check=False).stdout
    except subprocess.TimeoutExpired:
        return {}
    return dict(line.strip().split(":", 1) for line in info.splitlines() if ":" in line)


def redis_load(port: int) -> Load:
    """redis-benchmark's SET/GET/INCR/LPUSH/LPOP, then the server's own count of error replies:
    a test that did not finish, or any error reply, is a failure."""
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", str(REDIS_REQUESTS), "-c", "20",
           "-t", ",".join(REDIS_TESTS), "--csv"]
    proc = _run_load(cmd)
    rows = [line for line in proc.stdout.splitlines() if re.match(r'^"[A-Z]', line)]  # not the "test" header
    sent = REDIS_REQUESTS * len(REDIS_TESTS)
    done = REDIS_REQUESTS * len(rows) if proc.returncode == 0 else 0
    stats = _redis_stats(port)
    errors = int(stats.get("total_error_replies", "0")) if stats else 0
    return Load(sent, done - errors, (sent - done) + errors + (0 if stats else 1),
                proc.stdout + proc.stderr + f"\nINFO stats: {dict(stats)}")


def nginx(tmp: Path, workers: int = 2) -> Server:
    """nginx master + workers on a private prefix: conf, pid, logs, temp dirs and the page in tmp.
    `user root`: pytest's tmp directories are 0700, which a worker running as nobody cannot read."""
    port, prefix = free_port(), tmp / "nginx"
    for sub in ("logs", "html", "tmp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    (prefix / "html" / "index.html").write_text(PAGE)
    temps = "\n".join(f"  {kind}_temp_path {prefix}/tmp/{kind};"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (prefix / "nginx.conf").write_text(
        f"user root;\npid {prefix}/nginx.pid;\nerror_log {prefix}/logs/error.log warn;\n"
        "events { worker_connections 256; }\n"
        f"http {{\n  access_log {prefix}/logs/access.log;\n{temps}\n"
        f"  server {{ listen 127.0.0.1:{port}; root {prefix}/html; }}\n}}\n")
    argv = ("nginx", "-e", f"{prefix}/logs/error.log", "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
            "-g", f"daemon off; master_process on; worker_processes {workers};")

    def stop() -> None:
        """SIGQUIT to the master (graceful: workers finish, then all exit 0), found by its pid file."""
        with contextlib.suppress(OSError, ValueError):
            os.kill(int((prefix / "nginx.pid").read_text()), signal.SIGQUIT)

    return Server(argv, port, lambda p: ab_load(p, 5000, 20), stop)


def _ab_field(output: str, label: str) -> int | None:
    found = re.search(rf"^{re.escape(label)}:\s+(\d+)", output, re.M)
    return int(found.group(1)) if found else None


def ab_load(port: int, requests: int, concurrency: int) -> Load:
    """ab's GETs of the page: failed = ab's "Failed requests" (connect, receive, length, exceptions)
    + "Non-2xx responses" + requests never completed (ab stops at a reset connection)."""
    cmd = ["ab", "-q", "-s", "20", "-n", str(requests), "-c", str(concurrency), f"http://127.0.0.1:{port}/index.html"]
    proc = _run_load(cmd)
    out = proc.stdout + proc.stderr
    complete = _ab_field(out, "Complete requests") or 0
    failed = (_ab_field(out, "Failed requests") or 0) + (_ab_field(out, "Non-2xx responses") or 0)
    return Load(requests, complete - failed, failed + (requests - complete), out)


@dataclass(frozen=True)
class Run:
    """One server run under `record` or `verify`: the load's result, the exit status, stderr."""

    load: Load
    status: int
    stderr: str
    listened: bool


def under_load(procs: Processes, wrapper: Sequence[str], server: Server, name: str) -> Run:
    """Start `wrapper -- server`, wait until it listens, run the load, stop the server cleanly and
    wait for the whole tree to end (a recording is complete only once every tracee exited)."""
    started = procs.start([*wrapper, "--", *server.argv], name)
    listened = wait_for_port(server.port, started)
    load = server.load(server.port) if listened else Load(0, 0, 1, "the server never listened")
    server.stop()
    try:
        status = started.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill_tree(started.proc)
        status = -1
    return Run(load, status, started.err(), listened)


def record(out: Path) -> tuple[str, ...]:
    return (*SECCOMP_GEN, "record", "-o", str(out))


def verify(profile: Path) -> tuple[str, ...]:
    return (*SECCOMP_GEN, "verify", "--profile", str(profile))


def generate(recording: Path, name: str, out: Path) -> dict[str, Any]:
    """`generate --narrow-args --format json`: the JSON report (the profile is out/NAME.json)."""
    proc = subprocess.run([*SECCOMP_GEN, "generate", str(recording), "--name", name, "--narrow-args",
                           "--out", str(out), "--format", "json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def unhandled_denials(verify_stderr: str) -> list[str]:
    """verify's per-call denial lines that are not "handled" (clone3's ENOSYS, which glibc answers by
    calling clone, is handled: the program never sees it)."""
    lines = [line for line in verify_stderr.splitlines() if re.match(r"^seccomp-gen:   \S+ \(SCMP_ARCH_", line)]
    return [line for line in lines if "; handled:" not in line]


def narrowed_rules(profile: Mapping[str, Any]) -> dict[str, list[dict[int, int]]]:
    """name -> one {argument index: value} per allow rule that --narrow-args wrote (its comment says
    so), read from the profile itself: what the kernel will enforce, whatever the report claims."""
    found: dict[str, list[dict[int, int]]] = {}
    for rule in profile["syscalls"]:
        if NOTE not in rule.get("comment", "") or rule["action"] != "SCMP_ACT_ALLOW":
            continue
        values = {a["index"]: a["valueTwo"] if a["op"] == "SCMP_CMP_MASKED_EQ" else a["value"] for a in rule["args"]}
        for name in rule["names"]:
            found.setdefault(name, []).append(values)
    return found


def without_value(profile: Mapping[str, Any], name: str, index: int, value: int) -> dict[str, Any]:
    """The profile with the narrowed rule of `name` allowing `value` at `index` removed."""
    rules = [r for r in profile["syscalls"]
             if not (NOTE in r.get("comment", "") and name in r["names"] and narrowed_rules({"syscalls": [r]})
                     [name][0].get(index) == value)]
    assert len(rules) < len(profile["syscalls"]), f"no narrowed {name} rule for {value:#x}"
    return {**profile, "syscalls": rules}


@contextlib.contextmanager
def processes(tmp: Path) -> Iterator[Processes]:
    """Processes(tmp) whose trees are killed on the way out, however the block ends."""
    procs = Processes(tmp)
    try:
        yield procs
    finally:
        procs.close()
