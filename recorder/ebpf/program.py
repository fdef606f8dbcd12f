"""The eBPF program of the ebpf engine, as bytecode built by a few instruction helpers.

No compiler is involved: each helper below encodes one `struct bpf_insn` (8 bytes: opcode,
dst/src registers, 16-bit offset, 32-bit immediate), and `sys_enter_program()` lists the program
block by block. It runs on the raw tracepoint `sys_enter`, whose context is
`struct bpf_raw_tracepoint_args { u64 args[2]; }`: args[0] is the `struct pt_regs *` of the call,
args[1] the syscall number. The kernel's verifier checks it at load time (and in the tests).

Maps it uses (created by the engine, their fds patched into the program):
- counts: ARRAY (mmapable), key u32 syscall number (0..MAX_NR-1, MAX_NR for "out of range"), value
  `struct { u64 count; u64 first_pid_tgid; }`: the number of calls and the first caller. Slot
  SKIP_FLAG's count is set by the tracer once the skip map has ever been used; slot GATE's count,
  in a gated program, once CMD execs.
- skip (optional): HASH, key u32 thread id -> u32. The tracer puts a thread there while it is stopped
  on a compat (`int $0x80`) call it recorded itself; the program drops that thread's next sys_enter
  (that very call, which the tracepoint would otherwise count under the native table) and the entry.
  The hash is only looked up once SKIP_FLAG is set, so native-only workloads never pay for it.
- args (optional): HASH, key `struct { u32 nr; u32 index; u64 value; }` -> u32: distinct values of
  the watched arguments (socket family, clone flags, ...), read from pt_regs (x86_64 layout).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

#: Syscall numbers counted one by one; larger ones (x32, invalid) share the slot MAX_NR.
MAX_NR = 1024
#: The counts slot whose count says "the skip map is in use".
SKIP_FLAG = MAX_NR + 1
#: The counts slot whose count opens the gate of a gated program (see ProgramSpec.gated).
GATE = MAX_NR + 2
#: Entries of the counts map.
COUNT_ENTRIES = MAX_NR + 3
#: Size of a counts value: u64 count, u64 first pid_tgid.
COUNT_VALUE_SIZE = 16
#: Size of an args key: u32 nr, u32 argument index, u64 value.
ARGS_KEY_SIZE = 16

# Registers. r0: return values; r1-r5: helper arguments (clobbered by calls); r6-r9: kept across
# calls; r10: read-only frame pointer (512 bytes of stack below it).
R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 = range(11)

# Opcode parts (linux/bpf_common.h, linux/bpf.h).
_LD, _LDX, _ST, _STX, _ALU, _JMP, _ALU64 = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x07
_W, _DW = 0x00, 0x18
_IMM, _MEM, _ATOMIC = 0x00, 0x60, 0xC0
_K, _X = 0x00, 0x08
_ADD, _MOV = 0x00, 0xB0
_JA, _JEQ, _JGE, _JNE, _CALL, _EXIT = 0x00, 0x10, 0x30, 0x50, 0x80, 0x90
_PSEUDO_MAP_FD = 1

# Helper function ids (enum bpf_func_id).
MAP_LOOKUP_ELEM = 1
MAP_UPDATE_ELEM = 2
MAP_DELETE_ELEM = 3
GET_CURRENT_PID_TGID = 14
GET_CURRENT_CGROUP_ID = 80
PROBE_READ_KERNEL = 113
GET_CURRENT_ANCESTOR_CGROUP_ID = 123

#: x86_64 `struct pt_regs` offsets of the six syscall arguments (di, si, dx, r10, r8, r9).
X86_64_ARG_OFFSETS = (112, 104, 96, 56, 72, 64)


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def mov64_reg(dst: int, src: int) -> bytes:
    return _insn(_ALU64 | _MOV | _X, dst, src)


def mov64_imm(dst: int, imm: int) -> bytes:
    return _insn(_ALU64 | _MOV | _K, dst, imm=imm)


def add64_imm(dst: int, imm: int) -> bytes:
    return _insn(_ALU64 | _ADD | _K, dst, imm=imm)


def ld_imm64(dst: int, value: int, src: int = 0) -> bytes:
    """A 64-bit constant (two instruction slots); src=_PSEUDO_MAP_FD makes `value` a map fd."""
    return (_insn(_LD | _DW | _IMM, dst, src, imm=struct.unpack("<i", struct.pack("<I", value & 0xFFFFFFFF))[0])
            + _insn(0, imm=struct.unpack("<i", struct.pack("<I", value >> 32 & 0xFFFFFFFF))[0]))


def ld_map_fd(dst: int, fd: int) -> bytes:
    return ld_imm64(dst, fd, _PSEUDO_MAP_FD)


def ldx_dw(dst: int, src: int, off: int) -> bytes:
    return _insn(_LDX | _MEM | _DW, dst, src, off)


def stx_dw(dst: int, off: int, src: int) -> bytes:
    return _insn(_STX | _MEM | _DW, dst, src, off)


def stx_w(dst: int, off: int, src: int) -> bytes:
    return _insn(_STX | _MEM | _W, dst, src, off)


def st_w(dst: int, off: int, imm: int) -> bytes:
    return _insn(_ST | _MEM | _W, dst, off=off, imm=imm)


def atomic_add_dw(dst: int, off: int, src: int) -> bytes:
    """lock *(u64 *)(dst + off) += src"""
    return _insn(_STX | _ATOMIC | _DW, dst, src, off, _ADD)


def jmp_imm(op: int, dst: int, imm: int, off: int) -> bytes:
    return _insn(_JMP | op | _K, dst, off=off, imm=imm)


def jmp_reg(op: int, dst: int, src: int, off: int) -> bytes:
    return _insn(_JMP | op | _X, dst, src, off)


def ja(off: int) -> bytes:
    return _insn(_JMP | _JA, off=off)


def call(helper: int) -> bytes:
    return _insn(_JMP | _CALL, imm=helper)


def exit_insn() -> bytes:
    return _insn(_JMP | _EXIT)


class _Asm:
    """Instructions with forward jumps to named labels, resolved at the end."""

    def __init__(self) -> None:
        self.slots: list[bytes] = []  # one 8-byte slot each
        self.labels: dict[str, int] = {}
        self.fixups: list[tuple[int, str]] = []  # (slot of a jump, label)

    def emit(self, *code: bytes) -> None:
        for chunk in code:
            self.slots.extend(chunk[i:i + 8] for i in range(0, len(chunk), 8))

    def jump(self, code: bytes, label: str) -> None:
        self.fixups.append((len(self.slots), label))
        self.emit(code)

    def label(self, name: str) -> None:
        self.labels[name] = len(self.slots)

    def assemble(self) -> bytes:
        for slot, name in self.fixups:
            code, regs, _off, imm = struct.unpack("<BBhi", self.slots[slot])
            self.slots[slot] = struct.pack("<BBhi", code, regs, self.labels[name] - slot - 1, imm)
        return b"".join(self.slots)


@dataclass(frozen=True)
class ProgramSpec:
    """What to patch into the program: the target cgroup and the map fds."""

    cgroup_id: int
    cgroup_level: int | None  # depth below the cgroup2 root, for nested cgroups (None: exact match only)
    counts_fd: int
    skip_fd: int | None = None
    args_fd: int | None = None
    watched: Sequence[tuple[int, int]] = ()  # (native syscall number, argument index)
    #: Count nothing until counts[GATE] is set: the launched child is cloned into the cgroup, and
    #: its set-up before CMD's execve (filter load, exec) is the recorder's, not CMD's.
    gated: bool = False


def sys_enter_program(spec: ProgramSpec) -> bytes:
    """The bytecode, one block per step; returns `insn_cnt * 8` bytes for BPF_PROG_LOAD."""
    a = _Asm()
    # r6 = ctx (struct bpf_raw_tracepoint_args *), kept across helper calls.
    a.emit(mov64_reg(R6, R1))
    _scope(a, spec)
    if spec.gated:
        _gate(a, spec)
    # r7 = pid_tgid (tgid << 32 | tid) of the caller.
    a.emit(call(GET_CURRENT_PID_TGID), mov64_reg(R7, R0))
    if spec.skip_fd is not None:
        _skip_compat(a, spec.counts_fd, spec.skip_fd)
    _count(a, spec.counts_fd)
    if spec.args_fd is not None and spec.watched:
        _watch(a, spec.args_fd, spec.watched)
    # Done: raw tracepoint programs return 0.
    a.label("out")
    a.emit(mov64_imm(R0, 0), exit_insn())
    return a.assemble()


def _scope(a: _Asm, spec: ProgramSpec) -> None:
    """Only tasks in the target cgroup (or, via the ancestor at its level, in a cgroup below it)."""
    a.emit(call(GET_CURRENT_CGROUP_ID), ld_imm64(R1, spec.cgroup_id))
    a.jump(jmp_reg(_JEQ, R0, R1, 0), "in_scope")
    if spec.cgroup_level is None:
        a.jump(ja(0), "out")
    else:
        a.emit(mov64_imm(R1, spec.cgroup_level), call(GET_CURRENT_ANCESTOR_CGROUP_ID), ld_imm64(R1, spec.cgroup_id))
        a.jump(jmp_reg(_JNE, R0, R1, 0), "out")
    a.label("in_scope")


def _gate(a: _Asm, spec: ProgramSpec) -> None:
    """In a gated program, nothing counts while counts[GATE] is 0."""
    a.emit(st_w(R10, -4, GATE), ld_map_fd(R1, spec.counts_fd), mov64_reg(R2, R10), add64_imm(R2, -4),
           call(MAP_LOOKUP_ELEM))
    a.jump(jmp_imm(_JEQ, R0, 0, 0), "out")
    a.emit(ldx_dw(R1, R0, 0))
    a.jump(jmp_imm(_JEQ, R1, 0, 0), "out")


def _skip_compat(a: _Asm, counts_fd: int, skip_fd: int) -> None:
    """Compat calls the tracer recorded itself: once counts[SKIP_FLAG] is set, if skip[tid] exists,
    delete it and count nothing."""
    a.emit(st_w(R10, -4, SKIP_FLAG), ld_map_fd(R1, counts_fd), mov64_reg(R2, R10), add64_imm(R2, -4),
           call(MAP_LOOKUP_ELEM))
    a.jump(jmp_imm(_JEQ, R0, 0, 0), "count")
    a.emit(ldx_dw(R1, R0, 0))
    a.jump(jmp_imm(_JEQ, R1, 0, 0), "count")
    a.emit(stx_w(R10, -4, R7), ld_map_fd(R1, skip_fd), mov64_reg(R2, R10), add64_imm(R2, -4),
           call(MAP_LOOKUP_ELEM))
    a.jump(jmp_imm(_JEQ, R0, 0, 0), "count")
    a.emit(ld_map_fd(R1, skip_fd), mov64_reg(R2, R10), add64_imm(R2, -4), call(MAP_DELETE_ELEM))
    a.jump(ja(0), "out")
    a.label("count")


def _count(a: _Asm, counts_fd: int) -> None:
    """r8 = syscall number = ctx->args[1], clamped to the overflow slot MAX_NR; counts[r8]: atomic
    count += 1; first_pid_tgid set by the first caller (a race only picks another caller of the
    same call)."""
    a.emit(ldx_dw(R8, R6, 8))
    a.jump(jmp_imm(_JGE, R8, MAX_NR, 0), "clamp")
    a.jump(ja(0), "clamped")
    a.label("clamp")
    a.emit(mov64_imm(R8, MAX_NR))
    a.label("clamped")
    a.emit(stx_w(R10, -8, R8), ld_map_fd(R1, counts_fd), mov64_reg(R2, R10), add64_imm(R2, -8),
           call(MAP_LOOKUP_ELEM))
    a.jump(jmp_imm(_JEQ, R0, 0, 0), "out")
    a.emit(mov64_imm(R1, 1), atomic_add_dw(R0, 0, R1), ldx_dw(R1, R0, 8))
    a.jump(jmp_imm(_JNE, R1, 0, 0), "counted")
    a.emit(stx_dw(R0, 8, R7))
    a.label("counted")


def _watch(a: _Asm, args_fd: int, watched: Sequence[tuple[int, int]]) -> None:
    """Watched arguments: for each (nr, index), read the argument from pt_regs (ctx->args[0]) and
    add {nr, index, value} to the args set. r9 = pt_regs pointer; key at r10-32; value 1 at r10-36."""
    a.emit(ldx_dw(R9, R6, 0))
    for n, (nr, index) in enumerate(watched):
        skip = f"watch_{n}"
        a.jump(jmp_imm(_JNE, R8, nr, 0), skip)
        # probe_read_kernel(r10-24, 8, pt_regs + offset): the value lands in the key's last field.
        a.emit(mov64_reg(R1, R10), add64_imm(R1, -24), mov64_imm(R2, 8), mov64_reg(R3, R9),
               add64_imm(R3, X86_64_ARG_OFFSETS[index]), call(PROBE_READ_KERNEL))
        a.jump(jmp_imm(_JNE, R0, 0, 0), skip)
        a.emit(st_w(R10, -32, nr), st_w(R10, -28, index), st_w(R10, -36, 1),
               ld_map_fd(R1, args_fd), mov64_reg(R2, R10), add64_imm(R2, -32),
               mov64_reg(R3, R10), add64_imm(R3, -36), mov64_imm(R4, 0), call(MAP_UPDATE_ELEM))
        a.label(skip)
