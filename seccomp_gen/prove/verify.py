"""`verify`: run a command under a profile as the kernel enforces it, and name every denied call.

The profile is loaded into the kernel with libseccomp in the launched child, resolved for the
context as a runtime resolves it, with one change: every action that denies is turned into
SECCOMP_RET_TRACE carrying the index of the real action. The tracer then stops only on denied calls
(so the command runs at near native speed), names each one (arch, pid, exe) and answers it exactly
as the profile would (-errno), or lets it through (`--complain`). A KILL answer is carried out by the
kernel itself (kill.py), so CMD's exit status is the one the real profile gives (SIGSYS: 159).

Calls of an architecture the profile does not list get the filter's bad-arch action. That is
SECCOMP_RET_TRACE too (with data BAD_ARCH), so the first such call is named (arch, pid, exe) and then
answered as a runtime's filter answers it: the process is killed (KILL_PROCESS). Without this the
kernel killed a `gcc -m32` program silently and verify reported "0 denied syscalls". `--complain`
lets such calls run, as it lets every denied call run, and reports each one.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyseccomp

from seccomp_gen.generator.compile import action_value, compile_profile
from seccomp_gen.generator.context import Context
from seccomp_gen.generator.profile import PERMISSIVE_ACTIONS, Profile
from seccomp_gen.ground import kernel
from seccomp_gen.prove import kill
from seccomp_gen.recorder.collector import Collector
from seccomp_gen.recorder.interface import Log, quiet
from seccomp_gen.recorder.launch import filters
from seccomp_gen.recorder.ptrace import answer, record_command
from seccomp_gen.recorder.recording import Recording

#: Actions that end a thread (KILL is libseccomp's old name for KILL_THREAD) or the whole process.
#: The action that allows and logs: verify reports such calls (allowed) beside the denials.
LOG = "SCMP_ACT_LOG"
_KILLS_THREAD = frozenset({"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"})
_KILLS_PROCESS = frozenset({"SCMP_ACT_KILL_PROCESS"})
#: SECCOMP_RET_DATA of the bad-arch action's TRACE (the denial table never grows this far).
BAD_ARCH = 0xFFFF
#: What a runtime's filter does to a call of an architecture it does not list: kill the process.
BAD_ARCH_ACTION = "SCMP_ACT_KILL_PROCESS"
#: The label a bad-arch denial carries in the Recording's `actions` (check.py explains it).
BAD_ARCH_LABEL = f"{BAD_ARCH_ACTION} (architecture not in the profile)"


@dataclass(frozen=True)
class Denial:
    """A profile action that refuses a call, and the errno a caller sees."""

    action: str
    errno: int
    bad_arch: bool = False  # the bad-arch action: the call's architecture is not in the filter

    @property
    def label(self) -> str:
        """How reports name it: SCMP_ACT_ERRNO(38) - the errno tells an ENOSYS fallback from a refusal."""
        if self.bad_arch:
            return BAD_ARCH_LABEL
        return f"{self.action}({self.errno})" if self.action == "SCMP_ACT_ERRNO" else self.action


def _denial(action: str, errno_ret: int | None) -> Denial:
    if action == "SCMP_ACT_ERRNO":
        return Denial(action, kernel.EPERM if errno_ret is None else errno_ret)
    return Denial(action, kernel.ENOSYS)  # TRACE without a tracer; KILL/TRAP never return


@dataclass
class _DenialTable:
    """Denials numbered for SECCOMP_RET_DATA, so the tracer knows which action it stands for."""

    entries: list[Denial] = field(default_factory=list)

    def action(self, action: str, errno_ret: int | None) -> int:
        if action == LOG:  # allowed, but reported: a learning profile's misses are what verify is for
            denial = Denial(LOG, 0)
        elif action in PERMISSIVE_ACTIONS:
            return action_value(action, errno_ret)
        else:
            denial = _denial(action, errno_ret)
        if denial not in self.entries:
            self.entries.append(denial)
        return int(pyseccomp.TRACE(self.entries.index(denial)))

    def of(self, data: int) -> Denial:
        """The denial a stop's SECCOMP_RET_DATA stands for (another filter's TRACE: ENOSYS)."""
        if data == BAD_ARCH:
            return Denial(BAD_ARCH_ACTION, kernel.ENOSYS, bad_arch=True)
        return self.entries[data] if data < len(self.entries) else Denial("SCMP_ACT_TRACE", kernel.ENOSYS)


@dataclass(frozen=True)
class VerifyResult:
    exit_status: int | None
    denied: Recording  # what the profile refused, with the action under `actions`


class _Answerer:
    """The tracer's hook: count each denied call and answer it as the profile would."""

    def __init__(self, table: _DenialTable, complain: bool) -> None:
        self.table, self.complain, self.denied = table, complain, Collector()

    def __call__(self, tid: int, tgid: int, exe: str, token: int, nr: int, args: tuple[int, ...], data: int) -> None:
        denial = self.table.of(data)
        self.denied.add(token, nr, tgid, exe, args, action=denial.label)
        if self.complain or denial.action == LOG:
            return
        if denial.action in _KILLS_PROCESS or denial.action in _KILLS_THREAD:
            # The kernel kills, as under the real profile: SIGSYS, only the thread for KILL_THREAD.
            kill.kill_at_stop(tid, whole_process=denial.action in _KILLS_PROCESS)
            return
        answer.skip_with_errno(tid, denial.errno)
        if denial.action == "SCMP_ACT_TRAP":
            os.kill(tgid, signal.SIGSYS)


def run_verify(profile: Profile, ctx: Context, command: Sequence[str], *, complain: bool = False,
               log: Log | None = None) -> VerifyResult:
    """Run `command` under `profile` as the kernel enforces it; report every denied call."""
    if not complain:
        answer.require_support()
    table = _DenialTable()
    compiled = compile_profile(profile, ctx, actions=table.action)
    nnp = filters.prepare(compiled.filter, bad_arch=int(pyseccomp.TRACE(BAD_ARCH)),
                          nnp_required=ctx.no_new_privileges)
    answerer = _Answerer(table, complain)
    loaded = kill.BehindKillSwitch(compiled.filter, nnp)
    rec = record_command(command, log=log or quiet, trace_filter=(loaded, nnp),
                         on_trace=answerer, engine="verify")
    for reason in rec.incomplete_reasons:
        answerer.denied.mark_incomplete(reason)
    result = answerer.denied.build(engine="verify", command=command, exit_status=rec.exit_status,
                                   processes=rec.processes, details={"complain": complain})
    return VerifyResult(rec.exit_status, result)
