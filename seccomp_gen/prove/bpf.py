"""A classic-BPF interpreter for seccomp filters: ask a compiled filter what it answers.

libseccomp compiles a profile to the BPF program the kernel runs. Interpreting that same program
for a given (arch, syscall number, arguments) gives the kernel's answer without running the call,
so tests can compare two profiles exhaustively (generated vs baseline) and a later `check` command
can explain a denial. Only the instructions seccomp allows exist here; anything else is an error.
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from seccomp_gen.ground import kernel
from seccomp_gen.ground.errors import SeccompGenError

_INSN = struct.Struct("=HBBI")
_M32 = 0xFFFFFFFF

@dataclass(frozen=True)
class Answer:
    """A filter's return value: the action (SECCOMP_RET_*, named from ground's table) and its data."""

    raw: int

    @property
    def action(self) -> int:
        return self.raw & kernel.action_mask()

    @property
    def action_name(self) -> str:
        return kernel.action_of_code(self.raw)

    @property
    def data(self) -> int:
        return self.raw & kernel.data_mask()

    @property
    def allowed(self) -> bool:
        return self.action_name in kernel.permissive_actions()

    def __str__(self) -> str:
        name = self.action_name
        if name.startswith("code_"):
            return hex(self.action)
        short = name.removeprefix("SCMP_ACT_")
        return f"{short}({self.data})" if kernel.action(name).data else short


def export(filt: Any) -> bytes:
    """The BPF program libseccomp generated for a pyseccomp SyscallFilter."""
    with tempfile.TemporaryFile() as handle:
        filt.export_bpf(handle)
        handle.seek(0)
        data = handle.read()
    assert isinstance(data, bytes)
    return data


def _seccomp_data(arch: int, nr: int, args: Sequence[int], ip: int = 0) -> bytes:
    full = [(a % 2**64) for a in args] + [0] * (6 - len(args))
    return struct.pack("=iIQ6Q", nr, arch, ip, *full[:6])


def _alu(code: int, a: int, src: int) -> int:
    op = code & 0xF0
    if op == 0x00:
        result = a + src
    elif op == 0x10:
        result = a - src
    elif op == 0x20:
        result = a * src
    elif op == 0x30:
        result = a // src if src else 0
    elif op == 0x40:
        result = a | src
    elif op == 0x50:
        result = a & src
    elif op == 0x60:
        result = a << src
    elif op == 0x70:
        result = a >> src
    elif op == 0x80:
        result = -a
    elif op == 0x90:
        result = a % src if src else 0
    elif op == 0xA0:
        result = a ^ src
    else:
        raise SeccompGenError(f"BPF: unsupported ALU op {code:#x}")
    return result & _M32


def run(program: bytes, arch: int, nr: int, args: Sequence[int] = (), ip: int = 0) -> Answer:
    """Interpret a seccomp BPF program for one syscall, as the kernel would."""
    data = _seccomp_data(arch, nr, args, ip)
    insns = [_INSN.unpack_from(program, off) for off in range(0, len(program), _INSN.size)]
    a = x = 0
    mem = [0] * 16
    pc = 0
    for _ in range(len(insns) + 1):
        if pc >= len(insns):
            break
        code, jt, jf, k = insns[pc]
        pc += 1
        cls = code & 0x07
        if cls == 0x00:  # LD
            mode = code & 0xE0
            if mode == 0x20 and code & 0x18 == 0x00:
                a = struct.unpack_from("=I", data, k)[0]
            elif mode == 0x00:
                a = k
            elif mode == 0x60:
                a = mem[k]
            elif mode == 0x80:
                a = len(data)
            else:
                raise SeccompGenError(f"BPF: unsupported load {code:#x}")
        elif cls == 0x01:  # LDX
            mode = code & 0xE0
            x = k if mode == 0x00 else mem[k] if mode == 0x60 else len(data)
        elif cls == 0x02:
            mem[k] = a
        elif cls == 0x03:
            mem[k] = x
        elif cls == 0x04:  # ALU
            a = _alu(code, a, x if code & 0x08 else k)
        elif cls == 0x05:  # JMP
            op, src = code & 0xF0, (x if code & 0x08 else k)
            if op == 0x00:
                pc += k
                continue
            taken = {0x10: a == src, 0x20: a > src, 0x30: a >= src, 0x40: bool(a & src)}.get(op)
            if taken is None:
                raise SeccompGenError(f"BPF: unsupported jump {code:#x}")
            pc += jt if taken else jf
        elif cls == 0x06:  # RET
            return Answer((a if code & 0x18 == 0x10 else k) & _M32)
        elif cls == 0x07:
            if code & 0xF8 == 0x00:
                x = a
            else:
                a = x
    raise SeccompGenError("BPF: program ran off its end")
