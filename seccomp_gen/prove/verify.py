"""Proving a profile: run a command under it (verify), or compare a run or recording with it (check).

`verify` loads the profile into the kernel with libseccomp in the launched child, resolved for the
context as a runtime resolves it, with one change: every action that denies is turned into
SECCOMP_RET_TRACE carrying the index of the real action. The tracer then stops only on denied calls
(so the command runs at near native speed), names each one (arch, pid, exe) and answers it exactly
as the profile would (-errno), or lets it through (`--complain`). `check` asks the compiled filter
itself (bpf.py) what it answers for each syscall a recording made, with the argument values the
recording kept, so the CI gate and the kernel agree.
"""

from __future__ import annotations

import errno as errno_codes
import itertools
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyseccomp

from seccomp_gen.generator import tables
from seccomp_gen.generator.compile import action_value, compile_profile
from seccomp_gen.generator.context import Context
from seccomp_gen.generator.profile import PERMISSIVE_ACTIONS, ArchMapEntry, Profile
from seccomp_gen.ground import syscalls
from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.prove import bpf
from seccomp_gen.recorder.collector import Collector
from seccomp_gen.recorder.interface import Log, quiet
from seccomp_gen.recorder.ptrace import answer, record_command
from seccomp_gen.recorder.recording import Recording, SyscallUse

_EPERM = 1
#: At most this many argument combinations are evaluated per syscall.
_MAX_COMBINATIONS = 256
_KILLS = frozenset({"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS"})


def context_for(profile: Profile, caps: Sequence[str] = (), no_new_privileges: bool = True) -> Context:
    """The context a runtime on this host gives `profile`: its archMap entry for the host (or just
    the host), the granted capabilities."""
    native = syscalls.native_arch()
    arches = profile.filter_arches(native) or [native]
    entry = ArchMapEntry(native, tuple(a for a in arches if a != native))
    return Context(arch_map=(entry,), caps=frozenset(caps), no_new_privileges=no_new_privileges)


@dataclass(frozen=True)
class Denial:
    """A profile action that refuses a call, and the errno a caller sees."""

    action: str
    errno: int

    @property
    def label(self) -> str:
        """How reports name it: SCMP_ACT_ERRNO(38) - the errno tells an ENOSYS fallback from a refusal."""
        return f"{self.action}({self.errno})" if self.action == "SCMP_ACT_ERRNO" else self.action


def _denial(action: str, errno_ret: int | None) -> Denial:
    if action == "SCMP_ACT_ERRNO":
        return Denial(action, _EPERM if errno_ret is None else errno_ret)
    return Denial(action, errno_codes.ENOSYS)  # TRACE without a tracer; KILL/TRAP never return


@dataclass
class _DenialTable:
    """Denials numbered for SECCOMP_RET_DATA, so the tracer knows which action it stands for."""

    entries: list[Denial] = field(default_factory=list)

    def action(self, action: str, errno_ret: int | None) -> int:
        if action in PERMISSIVE_ACTIONS:
            return action_value(action, errno_ret)
        denial = _denial(action, errno_ret)
        if denial not in self.entries:
            self.entries.append(denial)
        return int(pyseccomp.TRACE(self.entries.index(denial)))


@dataclass(frozen=True)
class VerifyResult:
    exit_status: int | None
    denied: Recording  # what the profile refused, with the action under `actions`


def run_verify(profile: Profile, ctx: Context, command: Sequence[str], *, complain: bool = False,
               log: Log | None = None) -> VerifyResult:
    """Run `command` under `profile` as the kernel enforces it; report every denied call."""
    if not complain:
        answer.require_support()
    table = _DenialTable()
    compiled = compile_profile(profile, ctx, actions=table.action)
    nnp = ctx.no_new_privileges or not _has_sys_admin()
    compiled.filter.set_attr(pyseccomp.Attr.CTL_NNP, int(nnp))
    compiled.filter.set_attr(pyseccomp.Attr.ACT_BADARCH, pyseccomp.KILL_PROCESS)

    denied = Collector()

    def on_denied(tid: int, tgid: int, exe: str, token: int, nr: int, args: tuple[int, ...], data: int) -> None:
        denial = table.entries[data] if data < len(table.entries) else Denial("SCMP_ACT_TRACE", errno_codes.ENOSYS)
        denied.add(token, nr, tgid, exe, args, action=denial.label)
        if complain:
            return
        answer.skip_with_errno(tid, denial.errno)
        if denial.action in _KILLS:
            os.kill(tgid, signal.SIGKILL)  # emulated: the kernel would end it as by SIGSYS
        elif denial.action == "SCMP_ACT_TRAP":
            os.kill(tgid, signal.SIGSYS)

    rec = record_command(command, log=log or quiet, trace_filter=(compiled.filter, nnp),
                         on_trace=on_denied, engine="verify")
    for reason in rec.incomplete_reasons:
        denied.mark_incomplete(reason)
    result = denied.build(engine="verify", command=command, exit_status=rec.exit_status,
                          processes=rec.processes, details={"complain": complain})
    return VerifyResult(rec.exit_status, result)


def _has_sys_admin() -> bool:
    from seccomp_gen.recorder.ptrace.launch import CAP_SYS_ADMIN, has_capability

    return has_capability(CAP_SYS_ADMIN)


# ---------------------------------------------------------------- check


@dataclass(frozen=True)
class Lack:
    """A syscall a recording needs that the profile does not allow."""

    arch: str
    name: str
    use: SyscallUse
    answer: str  # what the filter answers: ERRNO(38), KILL_PROCESS, "no such architecture in the profile"
    args: tuple[int, ...] = ()


def _combinations(use: SyscallUse) -> list[tuple[int, ...]]:
    indices = sorted(use.args)
    if not indices:
        return [(0,) * 6]
    combos = []
    for values in itertools.islice(itertools.product(*(use.args[i] for i in indices)), _MAX_COMBINATIONS):
        full = [0] * 6
        for index, value in zip(indices, values, strict=True):
            full[index] = value
        combos.append(tuple(full))
    return combos


def check_recording(profile: Profile, ctx: Context, rec: Recording) -> list[Lack]:
    """What `rec` needs that `profile` (compiled for `ctx`) does not allow, as the kernel would answer."""
    compiled = compile_profile(profile, ctx)
    program = bpf.export(compiled.filter)
    lacks: list[Lack] = []
    for arch in sorted(rec.syscalls):
        for name, use in sorted(rec.syscalls[arch].items()):
            if arch not in compiled.arches:
                lacks.append(Lack(arch, name, use, "architecture not in the profile (the kernel kills the process)"))
                continue
            nr = syscalls.number_of(arch, name)
            if nr is None:
                lacks.append(Lack(arch, name, use, f"no syscall {name} on {arch}"))
                continue
            for args in _combinations(use):
                verdict = bpf.run(program, syscalls.ARCH_TOKENS[arch], nr, args)
                if not verdict.allowed and not _fallback_allowed(program, arch, name, verdict):
                    shown = tuple(args[i] for i in sorted(use.args)) if use.args else ()
                    lacks.append(Lack(arch, name, use, str(verdict), shown))
                    break
    return lacks


def _fallback_allowed(program: bytes, arch: str, name: str, verdict: bpf.Answer) -> bool:
    """A call the profile answers with ENOSYS is handled when the profile allows the C library's
    fallback for it (clone3 -> clone): the generator makes such profiles on purpose."""
    fallback = tables.enosys_fallbacks().get(name)
    if fallback is None or verdict.action != bpf.RET_ERRNO or verdict.data != errno_codes.ENOSYS:
        return False
    token = syscalls.ARCH_TOKENS[arch]
    for other in fallback.fallbacks:
        nr = syscalls.number_of(arch, other)
        if nr is not None and bpf.run(program, token, nr, (0,) * 6).allowed:
            return True
    return False


def lacks_from_denials(denied: Recording) -> list[Lack]:
    """A verify/check run's denials as Lacks (the answer is the profile's action)."""
    return [
        Lack(arch, name, use, ", ".join(sorted(use.actions)) or "denied")
        for arch in sorted(denied.syscalls) for name, use in sorted(denied.syscalls[arch].items())
    ]


def require_profile_arch(profile: Profile) -> None:
    native = syscalls.native_arch()
    if profile.arch_map and not profile.filter_arches(native):
        raise SeccompGenError(f"the profile has no archMap entry for this host ({native})")
