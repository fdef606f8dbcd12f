"""`check`: what a recording (or a run) needs that a profile does not allow, as the kernel answers.

The compiled filter itself is asked (bpf.py interprets the BPF libseccomp produced) for each
syscall the recording made, with the argument values the recording kept (generator/arguments.py
says which values a rule needs and which stand in for values not recorded). Each call comes out
allowed, denied (a Lack), denied but handled (answered ENOSYS while the profile allows the C
library's fallback: clone3 -> clone), or unproven: the answer depends on an argument the recording
does not hold. A run (`check -- CMD`) is judged by what the kernel denied in it, as `verify` reports.

A recording with no syscall at all cannot be judged (exit 3, never "ok"): the gate would pass a
broken or empty recording of any workload. A profile that allows every call by default (ALLOW,
LOG) is judged as it answers - allowed calls pass - with a warning in every report form (host.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seccomp_gen.generator import arguments, tables
from seccomp_gen.generator.compile import compile_profile
from seccomp_gen.generator.context import Context
from seccomp_gen.generator.profile import Profile
from seccomp_gen.ground import kernel, syscalls
from seccomp_gen.ground.text import printable
from seccomp_gen.prove import bpf, host
from seccomp_gen.prove.verify import BAD_ARCH_LABEL, LOG
from seccomp_gen.recorder.recording import Recording, SyscallUse


@dataclass(frozen=True)
class ArgValues:
    """Recorded values of one narrowable argument that the profile denies, with their name family
    (generator/data/narrowable.json), so a report can say `socket: domain AF_NETLINK (16) denied`."""

    index: int
    what: str
    family: str
    values: tuple[int, ...]
    levels: tuple[int, ...] = ()  # the recorded socket option levels (an optname is named by its level)


@dataclass(frozen=True)
class Lack:
    """A syscall a recording or run needs that the profile does not allow."""

    arch: str
    name: str
    use: SyscallUse
    answer: str  # what the filter answers: ERRNO(38), KILL_PROCESS, "architecture not in the profile"
    args: tuple[int, ...] = ()  # the argument values denied (those the profile compares)
    handled: str = ""  # why it does no harm (an allowed ENOSYS fallback), or ""
    #: For a syscall denied only for some argument values (or a run's denied call): which recorded
    #: values of its narrowable arguments are denied.
    values: tuple[ArgValues, ...] = ()


@dataclass(frozen=True)
class Unproven:
    """A syscall whose answer depends on argument values the recording does not hold."""

    arch: str
    name: str
    use: SyscallUse
    why: str


@dataclass(frozen=True)
class Judgement:
    """What `check` found; `exit_status` is the gate's: 1 denied, 3 cannot be judged, 0 ok."""

    lacks: tuple[Lack, ...] = ()
    handled: tuple[Lack, ...] = ()
    #: Calls allowed only as logged (SCMP_ACT_LOG): under a learning profile, what the lab run missed.
    logged: tuple[Lack, ...] = ()
    unproven: tuple[Unproven, ...] = ()
    checked: int | None = None  # syscalls judged (None for a run: only its denials are seen)
    notes: tuple[str, ...] = field(default_factory=tuple)  # warnings every report form carries

    @property
    def empty(self) -> bool:
        """A recording without a single syscall: nothing was proven, so the gate must not pass."""
        return self.checked == 0

    @property
    def exit_status(self) -> int:
        # An empty recording is 3, "cannot prove": the documents are valid (not 2), nothing is missing
        # (not 1), but no call was judged, and a gate must not pass on that. A default-allow profile is
        # not 3: every answer is proven (allowed), so 0 is the truth; its warning (in `notes`, on stderr
        # and in the JSON and JUnit reports) says the pass shows nothing about least privilege.
        return 1 if self.lacks else 3 if self.unproven or self.empty else 0


class _Filter:
    """The compiled profile, and what it answers."""

    def __init__(self, profile: Profile, ctx: Context) -> None:
        compiled = compile_profile(profile, ctx)
        # The native arch is in every libseccomp filter, listed or not (host.filter_arches).
        self.arches = frozenset((syscalls.native_arch(), *compiled.arches))
        self.program = bpf.export(compiled.filter)
        self.rules = [r for r in profile.rules if ctx.applies(r)]

    def answer(self, arch: str, nr: int, args: tuple[int, ...]) -> bpf.Answer:
        return bpf.run(self.program, syscalls.ARCH_TOKENS[arch], nr, args)

    def fallback(self, arch: str, name: str, answer_errno: int | None) -> str:
        """Why a call answered ENOSYS is handled (its C-library fallback is allowed), or ""."""
        fallback = tables.enosys_fallbacks().get(name)
        if fallback is None or answer_errno != kernel.ENOSYS:
            return ""
        for other in fallback.fallbacks:
            nr = syscalls.number_of(arch, other)
            if nr is not None and self.answer(arch, nr, (0,) * arguments.ARGS).allowed:
                return f"answered ENOSYS; the C library falls back to {other}, which the profile allows"
        return ""


def _errno_of(answer: bpf.Answer) -> int | None:
    return answer.data if answer.action_name == "SCMP_ACT_ERRNO" else None


def _denied_values(name: str, use: SyscallUse, answers: list[tuple[tuple[int, ...], bpf.Answer]]
                   ) -> tuple[ArgValues, ...]:
    """The recorded values of `name`'s narrowable arguments that are denied whatever the other
    arguments are, when the syscall is allowed for some values (else the name alone says it)."""
    entry = tables.narrowable()[0].get(name)
    if entry is None or all(not a.allowed for _combo, a in answers):
        return ()
    found = []
    for arg in entry.args:
        judged = {v: [a.allowed for combo, a in answers if combo[arg.index] == v]
                  for v in use.args.get(arg.index, ())}
        denied = [v for v, allowed in judged.items() if allowed and not any(allowed)]  # []: not compared
        if denied:
            found.append(ArgValues(arg.index, arg.what, arg.names, tuple(sorted(denied)), _levels(name, use)))
    return tuple(found)


def _levels(name: str, use: SyscallUse) -> tuple[int, ...]:
    """The socket option levels a use recorded (the argument narrowable.json calls `level`)."""
    entry = tables.narrowable()[0].get(name)
    index = next((a.index for a in entry.args if a.what == "level"), None) if entry else None
    return tuple(sorted(use.args.get(index, ()))) if index is not None else ()


def run_values(name: str, use: SyscallUse) -> tuple[ArgValues, ...]:
    """A run's denied call: the values of its narrowable arguments the tracer saw (all denied)."""
    entry = tables.narrowable()[0].get(name)
    if entry is None:
        return ()
    return tuple(ArgValues(a.index, a.what, a.names, tuple(sorted(use.args[a.index])), _levels(name, use))
                 for a in entry.args if use.args.get(a.index))


def _judge(flt: _Filter, arch: str, name: str, use: SyscallUse) -> Lack | Unproven | None:
    if arch not in flt.arches:
        return Lack(arch, name, use, "architecture not in the profile (the kernel kills the process)")
    nr = syscalls.number_of(arch, name)
    if nr is None:
        return Lack(arch, name, use, f"no syscall {name} on {arch}")
    compared = arguments.comparisons(flt.rules, name)
    plan = arguments.plan(use, compared)
    if plan.unbounded or plan.size > arguments.MAX_COMBINATIONS:
        args = ", ".join(f"arg{i}" for i in plan.unknown)
        return Unproven(arch, name, use, f"the profile compares {args}, which the recording does not hold")
    answers = [(combo, flt.answer(arch, nr, combo)) for combo in plan.combinations()]
    by_known: dict[tuple[int, ...], list[tuple[tuple[int, ...], bpf.Answer]]] = {}
    known = [i for i in sorted(plan.values) if i not in plan.unknown]
    for combo, answer in answers:
        by_known.setdefault(tuple(combo[i] for i in known), []).append((combo, answer))
    mixed = None
    for group in by_known.values():
        denied = [(combo, a) for combo, a in group if not a.allowed]
        if denied and len(denied) == len(group):  # denied whatever the values not recorded are
            combo, answer = denied[0]
            shown = tuple(combo[i] for i in sorted(compared)) if compared else ()
            return Lack(arch, name, use, str(answer), shown, flt.fallback(arch, name, _errno_of(answer)),
                        _denied_values(name, use, answers))
        if denied:
            mixed = denied[0][0]
    if mixed is not None:
        args = ", ".join(f"arg{i}" for i in plan.unknown)
        return Unproven(arch, name, use, f"allowed or denied depending on {args}, which the recording does not hold")
    if any(a.action_name == LOG for _combo, a in answers):
        return Lack(arch, name, use, "SCMP_ACT_LOG", handled="allowed and logged (SCMP_ACT_LOG)")
    return None


def check_recording(profile: Profile, ctx: Context, rec: Recording) -> Judgement:
    """What `rec` needs that `profile` (compiled for `ctx`) does not allow, as the kernel would answer."""
    flt = _Filter(profile, ctx)
    lacks: list[Lack] = []
    unproven: list[Unproven] = []
    for arch in sorted(rec.syscalls):
        for name, use in sorted(rec.syscalls[arch].items()):
            found = _judge(flt, arch, name, use)
            if isinstance(found, Lack):
                lacks.append(found)
            elif isinstance(found, Unproven):
                unproven.append(found)
    checked = sum(len(u) for u in rec.syscalls.values())
    notes = host.profile_warnings(profile)
    if not checked:
        notes = ("the recording holds no syscall: there is nothing to judge the profile by (record the "
                 "workload again; an empty recording proves nothing)", *notes)
    return _judgement(lacks, tuple(unproven), checked, notes)


def _judgement(lacks: list[Lack], unproven: tuple[Unproven, ...], checked: int | None,
               notes: tuple[str, ...]) -> Judgement:
    """Lacks sorted into denied, handled (an allowed fallback) and logged (allowed, SCMP_ACT_LOG)."""
    logged = tuple(x for x in lacks if x.answer == LOG)
    rest = [x for x in lacks if x.answer != LOG]
    return Judgement(tuple(x for x in rest if not x.handled), tuple(x for x in rest if x.handled), logged,
                     unproven, checked, notes)


def judge_denials(profile: Profile, ctx: Context, denied: Recording) -> Judgement:
    """A run's denials, as the kernel answered them (verify's and check -- CMD's one judgement)."""
    flt = _Filter(profile, ctx)
    lacks = []
    for arch in sorted(denied.syscalls):
        for name, use in sorted(denied.syscalls[arch].items()):
            labels = sorted(use.actions)
            if labels == [LOG]:  # verify let it run: allowed and logged
                lacks.append(Lack(arch, name, use, LOG, handled="allowed and logged (SCMP_ACT_LOG)"))
                continue
            errno = kernel.ENOSYS if labels == [f"SCMP_ACT_ERRNO({kernel.ENOSYS})"] else None
            lacks.append(Lack(arch, name, use, ", ".join(labels) or "denied", handled=flt.fallback(arch, name, errno),
                              values=run_values(name, use)))
    notes = (*host.profile_warnings(profile), *_bad_arch_notes(lacks),
             *(f"incomplete run: {reason}" for reason in denied.incomplete_reasons))
    return _judgement(lacks, (), None, notes)


def _bad_arch_notes(lacks: list[Lack]) -> list[str]:
    """One line per architecture the kernel killed a process for (the bad-arch action), naming it
    and the first process that called it: such a kill is a SIGSYS death with no other trace."""
    first: dict[str, Lack] = {}
    for lack in lacks:
        if BAD_ARCH_LABEL in lack.answer:
            first.setdefault(lack.arch, lack)
    return [f"the profile does not list {arch}: the kernel kills a process at its first {arch} call "
            f"(SIGSYS, exit status 159), first pid {lack.use.first.pid} ({printable(lack.use.first.exe)})"
            for arch, lack in sorted(first.items())]
