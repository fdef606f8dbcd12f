"""The bpf(2) syscall through ctypes: maps, program load (with the verifier's log), raw tracepoint.

Only what the engine needs, with `union bpf_attr` laid out by hand (linux/bpf.h). Every object is a
file descriptor owned by the caller; closing it (or exiting) releases it, so nothing outlives the
recorder.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.launch.caps import has_capability

#: bpf(2) syscall numbers per machine.
_BPF_NR = {"x86_64": 321, "aarch64": 280, "ppc64le": 361, "s390x": 351, "riscv64": 280}

BPF_MAP_CREATE = 0
BPF_MAP_LOOKUP_ELEM = 1
BPF_MAP_UPDATE_ELEM = 2
BPF_MAP_DELETE_ELEM = 3
BPF_PROG_LOAD = 5
BPF_RAW_TRACEPOINT_OPEN = 17

BPF_MAP_TYPE_HASH = 1
BPF_MAP_TYPE_ARRAY = 2
BPF_PROG_TYPE_RAW_TRACEPOINT = 17
#: An ARRAY map whose values userspace can mmap (read all counts at once, set flags without a syscall).
BPF_F_MMAPABLE = 1 << 10

_ATTR_SIZE = 128
_LOG_SIZE = 1 << 20
#: How many of the verifier log's last lines an error shows.
LOG_TAIL_LINES = 12

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class BpfError(SeccompGenError):
    """bpf(2) failed; `errno` is kept for callers that tell EPERM apart."""

    def __init__(self, message: str, err: int) -> None:
        super().__init__(message)
        self.errno = err


def privilege_problem() -> str | None:
    """Why this process cannot load a tracing program, or None (root, or CAP_BPF + CAP_PERFMON)."""
    if has_capability("CAP_SYS_ADMIN") or (has_capability("CAP_BPF") and has_capability("CAP_PERFMON")):
        return None
    return "the ebpf engine needs root (or CAP_BPF and CAP_PERFMON): run it as root, or use --engine ptrace"


def _bpf(cmd: int, attr: ctypes.Array[ctypes.c_char]) -> int:
    machine = os.uname().machine  # what platform.machine() reads, without importing platform
    nr = _BPF_NR.get(machine)
    if nr is None:
        raise BpfError(f"the ebpf engine does not know the bpf() syscall number on {machine}: "
                       "use --engine ptrace", errno.ENOSYS)
    result = int(_libc.syscall(ctypes.c_long(nr), ctypes.c_int(cmd), attr, ctypes.c_uint(_ATTR_SIZE)))
    if result < 0:
        return -ctypes.get_errno()
    return result


def _attr(fmt: str, *values: object) -> ctypes.Array[ctypes.c_char]:
    buf = ctypes.create_string_buffer(_ATTR_SIZE)
    struct.pack_into(fmt, buf, 0, *values)
    return buf


def _fail(what: str, err: int) -> BpfError:
    if err == errno.EPERM:
        return BpfError(f"{what}: {os.strerror(err)}: the ebpf engine needs root (or CAP_BPF and "
                        "CAP_PERFMON; lockdown or a seccomp profile may also forbid bpf()): use --engine ptrace",
                        err)
    if err == errno.ENOSYS:
        return BpfError(f"{what}: this kernel has no bpf() syscall: use --engine ptrace", err)
    return BpfError(f"{what}: {os.strerror(err)}", err)


def map_create(map_type: int, key_size: int, value_size: int, max_entries: int, name: str, flags: int = 0) -> int:
    attr = _attr("<IIIIIII16s", map_type, key_size, value_size, max_entries, flags, 0, 0, name.encode()[:15])
    fd = _bpf(BPF_MAP_CREATE, attr)
    if fd < 0:
        raise _fail(f"bpf(BPF_MAP_CREATE {name})", -fd)
    return fd


def map_lookup(fd: int, key: bytes, value_size: int) -> bytes | None:
    k = ctypes.create_string_buffer(key, len(key))
    v = ctypes.create_string_buffer(value_size)
    attr = _attr("<IIQQQ", fd, 0, ctypes.addressof(k), ctypes.addressof(v), 0)
    ret = _bpf(BPF_MAP_LOOKUP_ELEM, attr)
    if ret == -errno.ENOENT:
        return None
    if ret < 0:
        raise _fail("bpf(BPF_MAP_LOOKUP_ELEM)", -ret)
    return v.raw


def map_update(fd: int, key: bytes, value: bytes) -> None:
    k = ctypes.create_string_buffer(key, len(key))
    v = ctypes.create_string_buffer(value, len(value))
    attr = _attr("<IIQQQ", fd, 0, ctypes.addressof(k), ctypes.addressof(v), 0)
    ret = _bpf(BPF_MAP_UPDATE_ELEM, attr)
    if ret < 0:
        raise _fail("bpf(BPF_MAP_UPDATE_ELEM)", -ret)


def map_keys(fd: int, key_size: int) -> list[bytes]:
    """Every key of a hash map (BPF_MAP_GET_NEXT_KEY from none)."""
    keys: list[bytes] = []
    nxt = ctypes.create_string_buffer(key_size)
    cur: ctypes.Array[ctypes.c_char] | None = None
    while True:
        attr = _attr("<IIQQ", fd, 0, ctypes.addressof(cur) if cur is not None else 0, ctypes.addressof(nxt))
        ret = _bpf(4, attr)  # BPF_MAP_GET_NEXT_KEY
        if ret == -errno.ENOENT:
            return keys
        if ret < 0:
            raise _fail("bpf(BPF_MAP_GET_NEXT_KEY)", -ret)
        keys.append(nxt.raw)
        cur = ctypes.create_string_buffer(nxt.raw, key_size)


def prog_load_raw_tracepoint(insns: bytes, name: str) -> int:
    """Load a BPF_PROG_TYPE_RAW_TRACEPOINT program. On failure, load it again with a log buffer and
    raise with the verifier log's last lines."""
    code = ctypes.create_string_buffer(insns, len(insns))
    license_ = ctypes.create_string_buffer(b"GPL")

    def load(log: ctypes.Array[ctypes.c_char] | None) -> int:
        attr = _attr("<IIQQIIQII16s", BPF_PROG_TYPE_RAW_TRACEPOINT, len(insns) // 8, ctypes.addressof(code),
                     ctypes.addressof(license_), 1 if log is not None else 0, len(log) if log is not None else 0,
                     ctypes.addressof(log) if log is not None else 0, 0, 0, name.encode()[:15])
        return _bpf(BPF_PROG_LOAD, attr)

    fd = load(None)
    if fd >= 0:
        return fd
    err = -fd
    if err in (errno.EPERM, errno.ENOSYS):  # EACCES and EINVAL are the verifier's: ask it why
        raise _fail("bpf(BPF_PROG_LOAD)", err)
    log = ctypes.create_string_buffer(_LOG_SIZE)
    fd = load(log)
    if fd >= 0:  # pragma: no cover - refused once, accepted with a log: take it
        return fd
    text = log.value.decode("utf-8", "replace").strip().splitlines()
    tail = " | ".join(text[-LOG_TAIL_LINES:]) or "(no verifier log)"
    raise BpfError(f"the kernel refused the ebpf engine's program ({os.strerror(-fd)}); verifier log: {tail}", -fd)


def raw_tracepoint_open(name: str, prog_fd: int) -> int:
    tp = ctypes.create_string_buffer(name.encode())
    attr = _attr("<QI", ctypes.addressof(tp), prog_fd)
    fd = _bpf(BPF_RAW_TRACEPOINT_OPEN, attr)
    if fd < 0:
        raise _fail(f"bpf(BPF_RAW_TRACEPOINT_OPEN {name})", -fd)
    return fd
