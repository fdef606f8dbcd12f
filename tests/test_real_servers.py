"""Real servers from Debian keep serving under their `generate --narrow-args` profiles.

redis-server (threads) and nginx (a master and two worker processes) are recorded while a loopback
load runs, the recording is turned into a profile whose socket/ioctl/prctl/... allow rules hold only
the recorded argument values, and the same server then serves the same load under that profile as
the kernel enforces it (`seccomp-gen verify`): zero failed requests, and no denied call other than
clone3's ENOSYS that glibc answers itself by calling clone. This is what narrowing must survive in
practice: values used at start-up, by threads and by forked workers are all in one recording. The
last test shows the check can fail: without one recorded ioctl value nginx cannot serve at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import servers
from tests.support.process import need_tool
from tests.support.servers import Processes, Run, Server

pytestmark = pytest.mark.slow

AF_INET = 2
FIONBIO = 0x5421
#: The syscalls the issue asks to see argument rules for.
MUST_NARROW = {"socket", "ioctl", "prctl"}


@dataclass(frozen=True)
class Profiled:
    """A server recorded under load and the --narrow-args profile generated from that recording."""

    name: str
    server: Server
    recorded: Run
    recording: dict[str, Any]
    report: dict[str, Any]
    profile_path: Path
    profile: dict[str, Any]

    @property
    def narrowed(self) -> dict[str, list[dict[int, int]]]:
        return servers.narrowed_rules(self.profile)


def _record_and_generate(procs: Processes, tmp: Path, server: Server, name: str) -> Profiled:
    rec_path, out = tmp / f"{name}.recording.json", tmp / "profile"
    recorded = servers.under_load(procs, servers.record(rec_path), server, f"{name}-record")
    assert recorded.listened, f"{name} never listened under the recorder:\n{recorded.stderr}"
    assert rec_path.exists(), recorded.stderr
    report = servers.generate(rec_path, name, out)
    profile_path = out / f"{name}.json"
    return Profiled(name, server, recorded, json.loads(rec_path.read_text()), report, profile_path,
                    json.loads(profile_path.read_text()))


@pytest.fixture(scope="module")
def redis_profiled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Profiled]:
    need_tool("redis-server", "redis-server")
    need_tool("redis-benchmark", "redis-tools")
    need_tool("redis-cli", "redis-tools")
    tmp = tmp_path_factory.mktemp("redis")
    with servers.processes(tmp) as procs:
        yield _record_and_generate(procs, tmp, servers.redis(tmp), "redis")


@pytest.fixture(scope="module")
def nginx_profiled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Profiled]:
    need_tool("nginx", "nginx")
    need_tool("ab", "apache2-utils")
    tmp = tmp_path_factory.mktemp("nginx")
    with servers.processes(tmp) as procs:
        yield _record_and_generate(procs, tmp, servers.nginx(tmp), "nginx")


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    """The trees a test starts, SIGKILLed at teardown whether the test passed or not."""
    with servers.processes(tmp_path) as started:
        yield started


def _check_recording(p: Profiled) -> None:
    """The recorded run served its load, ended on its own (a clean stop) and is complete."""
    assert p.recorded.load.failed == 0, p.recorded.load.output
    assert p.recorded.status == 0, p.recorded.stderr
    assert p.recording["complete"], p.recording.get("incomplete_reasons")
    narrowed = p.narrowed
    assert set(narrowed) >= MUST_NARROW, f"no argument rules for {MUST_NARROW - set(narrowed)}: {p.report}"
    reported = {n["name"]: n["rules"] for n in p.report.get("narrowing", {}).get("narrowed", [])}
    if reported:  # the report and the profile agree on what was narrowed, rule for rule
        assert reported == {name: len(rules) for name, rules in narrowed.items()}


def _summary(p: Profiled, run: Run) -> str:
    narrowed = p.narrowed
    rules = sum(len(r) for r in narrowed.values())
    allowed = p.report["allowed"]
    return (f"{p.name}: {len(p.recording['processes'])} processes; allowed {allowed['count']} of "
            f"{allowed['baseline_count']} baseline names; {len(narrowed)} syscalls narrowed into {rules} rules "
            f"({', '.join(f'{n} {len(r)}' for n, r in sorted(narrowed.items()))}); "
            f"served {run.load.served}/{run.load.sent} under the profile, {run.load.failed} failed")


def _serve_under_profile(p: Profiled, procs: Processes) -> Run:
    run = servers.under_load(procs, servers.verify(p.profile_path), p.server, f"{p.name}-verify")
    assert run.listened, f"{p.name} never listened under its profile:\n{run.stderr}"
    assert run.load.failed == 0 and run.load.served == run.load.sent, run.load.output
    assert servers.unhandled_denials(run.stderr) == [], run.stderr
    assert run.status == 0, run.stderr
    print(_summary(p, run))
    return run


def test_redis_profile_has_argument_rules_for_socket_ioctl_and_prctl(redis_profiled: Profiled) -> None:
    _check_recording(redis_profiled)
    sockets = redis_profiled.narrowed["socket"]
    assert {r[0] for r in sockets} == {AF_INET}, sockets  # bind 127.0.0.1: IPv4 only, no AF_UNIX/NETLINK


def test_redis_serves_the_load_under_its_narrowed_profile(redis_profiled: Profiled, procs: Processes) -> None:
    _serve_under_profile(redis_profiled, procs)


def test_nginx_profile_has_argument_rules_for_socket_ioctl_and_prctl(nginx_profiled: Profiled) -> None:
    _check_recording(nginx_profiled)
    assert len([p for p in nginx_profiled.recording["processes"] if "nginx" in p["exe"]]) >= 3  # master + 2
    assert FIONBIO in {r[1] for r in nginx_profiled.narrowed["ioctl"]}


def test_nginx_serves_the_load_under_its_narrowed_profile(nginx_profiled: Profiled, procs: Processes) -> None:
    _serve_under_profile(nginx_profiled, procs)


def test_nginx_without_the_recorded_fionbio_value_cannot_serve(nginx_profiled: Profiled, procs: Processes,
                                                                tmp_path: Path) -> None:
    """The check can fail: drop the narrowed ioctl(FIONBIO) rule and nginx stops at start-up
    ("ioctl(FIONBIO) ... failed (38: Function not implemented)"), verify names ioctl."""
    broken = tmp_path / "nginx-no-fionbio.json"
    broken.write_text(json.dumps(servers.without_value(nginx_profiled.profile, "ioctl", 1, FIONBIO)))
    run = servers.under_load(procs, servers.verify(broken), nginx_profiled.server, "nginx-broken")
    assert run.load.failed > 0, run.load.output
    assert any(line.startswith("seccomp-gen:   ioctl ") for line in servers.unhandled_denials(run.stderr)), run.stderr
