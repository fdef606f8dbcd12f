"""Syscall names and numbers for every architecture, from libseccomp's resolver.

Nothing here is a hand-typed table: architecture tokens come from pyseccomp (they are the kernel's
AUDIT_ARCH_* values, which is also what PTRACE_GET_SYSCALL_INFO and audit records report), and every
name <-> number lookup goes to libseccomp for the architecture asked about. A number libseccomp cannot
name is spelled `syscall_<nr>` so that it is kept, never dropped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import re

import pyseccomp


def _load_libseccomp() -> ctypes.CDLL:
    """libseccomp by its soname first: ctypes.util.find_library runs `ldconfig -p` in a subprocess."""
    try:
        return ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError:
        return ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so", use_errno=True)


_lib = _load_libseccomp()
_lib.seccomp_syscall_resolve_num_arch.argtypes = (ctypes.c_uint32, ctypes.c_int)
_lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_void_p
_lib.seccomp_syscall_resolve_name_arch.argtypes = (ctypes.c_uint32, ctypes.c_char_p)
_lib.seccomp_syscall_resolve_name_arch.restype = ctypes.c_int
_lib.seccomp_arch_native.argtypes = ()
_lib.seccomp_arch_native.restype = ctypes.c_uint32
_libc = ctypes.CDLL(None)
_libc.free.argtypes = (ctypes.c_void_p,)
_libc.free.restype = None

#: libseccomp arch name (as used in a profile's archMap) -> AUDIT_ARCH_* token.
ARCH_TOKENS: dict[str, int] = {
    f"SCMP_ARCH_{attr}": value
    for attr, value in vars(pyseccomp.Arch).items()
    if attr.isupper() and attr != "NATIVE" and isinstance(value, int)
}
#: AUDIT_ARCH_* token -> libseccomp arch name.
ARCH_NAMES: dict[int, str] = {token: name for name, token in ARCH_TOKENS.items()}

#: On x86_64, a syscall number with this bit set is an x32-ABI call (arch token stays x86_64).
X32_SYSCALL_BIT = 0x40000000

#: The name of a number libseccomp cannot name (at most 10 digits: no int has more).
_UNNAMED = re.compile(r"^syscall_(0|[1-9]\d{0,9})$")
#: seccomp_data.nr is a C int: no syscall number is larger.
MAX_NR = 2**31 - 1
_RAW_ARCH = re.compile(r"^audit_arch_[0-9a-f]{8}$")


def raw_arch_key(token: int) -> str:
    """The Recording key for an architecture libseccomp does not know: its AUDIT_ARCH token."""
    return f"audit_arch_{token:08x}"


def is_raw_arch_key(arch: str) -> bool:
    return bool(_RAW_ARCH.match(arch))


def native_arch() -> str:
    """The libseccomp name of the architecture this Python runs on."""
    return ARCH_NAMES[_lib.seccomp_arch_native()]


def is_known_arch(arch: str) -> bool:
    return arch in ARCH_TOKENS


def arch_of_token(token: int, nr: int) -> str | None:
    """The libseccomp arch name of a kernel (AUDIT_ARCH) token; x32 is told apart by its number."""
    name = ARCH_NAMES.get(token)
    if name == "SCMP_ARCH_X86_64" and nr & X32_SYSCALL_BIT:
        return "SCMP_ARCH_X32"
    return name


def reported_key(arch: str, nr: int) -> tuple[int, int]:
    """(AUDIT_ARCH token, number) as the kernel reports syscall `nr` of `arch` at a ptrace stop or in
    an audit record: x32 calls come under x86_64's token, their number carrying the x32 bit."""
    if arch == "SCMP_ARCH_X32":
        return ARCH_TOKENS["SCMP_ARCH_X86_64"], nr | X32_SYSCALL_BIT
    return ARCH_TOKENS[arch], nr


@functools.lru_cache(maxsize=8192)
def name_of(arch: str, nr: int) -> str | None:
    """libseccomp's name for syscall `nr` on `arch`, or None when libseccomp does not know it."""
    token = ARCH_TOKENS[arch]
    if nr < 0 or nr > 0x7FFFFFFF:
        return None
    ptr = _lib.seccomp_syscall_resolve_num_arch(token, nr)
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode()
    finally:
        _libc.free(ptr)


def unnamed_number(name: str) -> int | None:
    """The number in a `syscall_<nr>` name (possibly above MAX_NR), or None for any other name."""
    unnamed = _UNNAMED.match(name)
    return int(unnamed.group(1)) if unnamed else None


@functools.lru_cache(maxsize=8192)
def number_of(arch: str, name: str) -> int | None:
    """The number of `name` on `arch`, or None when that arch has no such syscall.

    libseccomp answers negative pseudo-numbers for syscalls that exist elsewhere but not on this
    arch (socketcall on x86_64): those are None too. `syscall_<nr>` names map back to `nr`.
    """
    nr = unnamed_number(name)
    if nr is not None:
        return nr if nr <= MAX_NR else None
    nr = int(_lib.seccomp_syscall_resolve_name_arch(ARCH_TOKENS[arch], name.encode()))
    if nr >= 0:
        return nr
    # libseccomp answers a pseudo-number for calls it multiplexes (i386 socket, accept4... go through
    # socketcall) even where the kernel also has a direct number (i386 socket is 359 since 4.3),
    # which its number->name table does know: look the name up there.
    found: int | None = _numbers(arch).get(name)
    return found


#: Syscall numbers are below this on every architecture libseccomp knows (x32 adds its own bit).
_MAX_NR = 1024


@functools.lru_cache(maxsize=32)
def _numbers(arch: str) -> dict[str, int]:
    """name -> number from libseccomp's number->name table of `arch`."""
    base = X32_SYSCALL_BIT if arch == "SCMP_ARCH_X32" else 0
    table: dict[str, int] = {}
    for nr in range(base, base + _MAX_NR):
        name = name_of(arch, nr)
        if name is not None:
            table.setdefault(name, nr)
    return table


def is_known_name(name: str) -> bool:
    """True when some architecture libseccomp knows has a syscall called `name`."""
    return bool(_UNNAMED.match(name)) or any(number_of(arch, name) is not None for arch in ARCH_TOKENS)
