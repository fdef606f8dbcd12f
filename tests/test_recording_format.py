"""The Recording file: round trip, merge, and every malformed input as `file:line: message`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder import recording
from seccomp_gen.recorder.recording import Caller, Recording, Source, SyscallUse


def _sample() -> Recording:
    return Recording(
        source=Source("ptrace", ("ls", "/"), "2026-01-01T00:00:00+00:00", 1.5, "6.1", "SCMP_ARCH_X86_64"),
        exit_status=0,
        complete=True,
        syscalls={
            "SCMP_ARCH_X86_64": {
                "read": SyscallUse(12, Caller(1, "/usr/bin/ls")),
                "socket": SyscallUse(2, Caller(1, "/usr/bin/ls"), {0: (1, 2), 1: (1,)}),
            },
            "SCMP_ARCH_X86": {"getpid": SyscallUse(1, Caller(2, "/a b"))},
        },
    )


def test_round_trip_is_exact_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    recording.dump(_sample(), path)
    loaded = recording.load(path)
    assert loaded == _sample()
    assert recording.dumps(loaded) == path.read_text()
    doc = json.loads(path.read_text())
    assert doc["schema_version"] == 1
    assert doc["syscalls"]["SCMP_ARCH_X86_64"]["read"] == {"count": 12, "first": {"pid": 1, "exe": "/usr/bin/ls"}}
    assert doc["syscalls"]["SCMP_ARCH_X86_64"]["socket"]["args"] == {"0": [1, 2], "1": [1]}


def test_merge_sums_counts_and_keeps_first_caller() -> None:
    a = _sample()
    merged = recording.merge([a, a])
    assert merged.syscalls["SCMP_ARCH_X86_64"]["read"].count == 24
    assert merged.syscalls["SCMP_ARCH_X86_64"]["read"].first == Caller(1, "/usr/bin/ls")
    assert merged.complete


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(text)
    return path


def _doc() -> dict:
    return json.loads(recording.dumps(_sample()))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema_version=2), "unsupported schema_version 2"),
        (lambda d: d["syscalls"].update(SCMP_ARCH_Z80={}), "unknown architecture 'SCMP_ARCH_Z80'"),
        (lambda d: d["syscalls"]["SCMP_ARCH_X86_64"].update(frobnicate=d["syscalls"]["SCMP_ARCH_X86_64"]["read"]),
         "unknown syscall 'frobnicate'"),
        (lambda d: d["syscalls"]["SCMP_ARCH_X86_64"]["read"].update(count=-1), "count must be an integer"),
        (lambda d: d["syscalls"]["SCMP_ARCH_X86_64"]["read"].update(count="12"), "count must be an integer"),
        (lambda d: d.update(complete="yes"), "complete must be true or false"),
        (lambda d: d.pop("source"), "source must be an object"),
    ],
)
def test_malformed_recordings_name_file_and_line(tmp_path: Path, mutate, message: str) -> None:
    doc = _doc()
    mutate(doc)
    path = _write(tmp_path, json.dumps(doc, indent=2))
    with pytest.raises(SeccompGenError) as info:
        recording.load(path)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}:")


def test_truncated_json_reports_the_line(tmp_path: Path) -> None:
    text = recording.dumps(_sample())
    path = _write(tmp_path, text[: len(text) // 2])
    with pytest.raises(SeccompGenError) as info:
        recording.load(path)
    assert info.value.line is not None and "invalid JSON" in str(info.value)


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"schema_version": 1,\n "schema_version": 1}')
    with pytest.raises(SeccompGenError, match="duplicate key 'schema_version'") as info:
        recording.load(path)
    assert info.value.line == 1


@pytest.mark.parametrize("content", [b"", b"\x00\x01binary", b"\xff\xfe{}"])
def test_empty_binary_and_non_utf8_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)
    with pytest.raises(SeccompGenError):
        recording.load(path)


def test_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SeccompGenError, match="is a directory"):
        recording.load(tmp_path)
    with pytest.raises(SeccompGenError, match="no such file"):
        recording.load(tmp_path / "nope.json")


def test_i386_direct_socket_calls_load(tmp_path: Path) -> None:
    """i386 has direct socket syscalls (socket is 359) besides socketcall; libseccomp's name lookup
    answers a pseudo-number for them, its number table the real one: recordings of them must load."""
    from seccomp_gen.ground import syscalls

    assert syscalls.number_of("SCMP_ARCH_X86", "socket") == 359
    assert syscalls.number_of("SCMP_ARCH_X86_64", "socketcall") is None
    doc = json.loads(recording.dumps(_sample()))
    doc["syscalls"]["SCMP_ARCH_X86"].update({
        name: {"count": 1, "first": {"pid": 2, "exe": "/a"}} for name in ("socket", "accept4", "recvmmsg")})
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    assert {"socket", "accept4", "recvmmsg"} <= recording.load(path).names("SCMP_ARCH_X86")
