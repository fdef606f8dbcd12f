"""A Profile compiled by libseccomp the way an OCI runtime does it, and loaded in a child process.

This mirrors runc/crun: rules whose includes/excludes do not hold for the context are skipped,
names are resolved for the native architecture (a name libseccomp does not know is skipped, as the
runtimes do; names of another ABI resolve to pseudo-numbers that libseccomp maps per architecture),
the archMap entry of the native architecture picks the filter's architectures (added before any
rule, as rules only go to architectures already in the filter), and a rule that compares one
argument twice is added as one rule per comparison (libseccomp cannot AND two tests of one argument,
so runc and crun OR them). `verify` (issue 5) and the tests use it; the BPF it produces can be
interpreted with bpf.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pyseccomp

from seccomp_gen.generator.context import Context
from seccomp_gen.generator.profile import Profile, Rule
from seccomp_gen.ground import syscalls
from seccomp_gen.ground.errors import SeccompGenError

_OPS = {
    "SCMP_CMP_NE": pyseccomp.NE,
    "SCMP_CMP_LT": pyseccomp.LT,
    "SCMP_CMP_LE": pyseccomp.LE,
    "SCMP_CMP_EQ": pyseccomp.EQ,
    "SCMP_CMP_GE": pyseccomp.GE,
    "SCMP_CMP_GT": pyseccomp.GT,
    "SCMP_CMP_MASKED_EQ": pyseccomp.MASKED_EQ,
}
#: errno of SCMP_ACT_ERRNO without errnoRet, as runc and crun default it.
_EPERM = 1
#: what libseccomp answers for a name it does not know
_NR_SCMP_ERROR = -1


def action_value(action: str, errno_ret: int | None) -> int:
    return int(_action_value(action, errno_ret))


def _action_value(action: str, errno_ret: int | None) -> Any:
    if action == "SCMP_ACT_ALLOW":
        return pyseccomp.ALLOW
    if action == "SCMP_ACT_LOG":
        return pyseccomp.LOG
    if action == "SCMP_ACT_ERRNO":
        return pyseccomp.ERRNO(_EPERM if errno_ret is None else errno_ret)
    if action == "SCMP_ACT_TRACE":
        return pyseccomp.TRACE(errno_ret or 0)
    if action in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"):
        return pyseccomp.KILL_THREAD
    if action == "SCMP_ACT_KILL_PROCESS":
        return pyseccomp.KILL_PROCESS
    if action == "SCMP_ACT_TRAP":
        return pyseccomp.TRAP
    raise SeccompGenError(f"{action} cannot be enforced without a seccomp agent")


def _args(rule: Rule) -> list[list[pyseccomp.Arg]]:
    args = [pyseccomp.Arg(a.index, _OPS[a.op], a.value, a.value_two) for a in rule.args]
    return [[a] for a in args] if rule.args_split() else [args]


@dataclass(frozen=True)
class Compiled:
    filter: Any
    arches: tuple[str, ...]
    skipped_names: tuple[str, ...]


#: Maps a profile action and errno to the filter's action value (verify swaps denials for TRACE).
ActionMap = Callable[[str, "int | None"], int]


def compile_profile(profile: Profile, ctx: Context, native: str | None = None,
                    actions: ActionMap = action_value) -> Compiled:
    """Build the libseccomp filter a runtime on `native` (this host by default) would load."""
    native = native or syscalls.native_arch()
    filt = pyseccomp.SyscallFilter(actions(profile.default_action, profile.default_errno_ret))
    arches = profile.filter_arches(native) or [native]
    for arch in arches:
        token = syscalls.ARCH_TOKENS.get(arch)
        if token is None or arch == native:
            continue
        try:
            filt.add_arch(token)
        except OSError as exc:
            raise SeccompGenError(f"libseccomp cannot add architecture {arch}: {exc.strerror}") from None
    skipped = _add_rules(filt, profile, ctx, actions)
    return Compiled(filt, tuple(a for a in arches if a in syscalls.ARCH_TOKENS), tuple(sorted(skipped)))


def check_loadable(profile: Profile, ctx: Context) -> None:
    """Compile the profile for every host architecture of the context (each with its recorded
    sub-architectures, as a runtime on that host would), so a profile libseccomp would refuse (EEXIST
    on x86's multiplexed socket calls, say) is an error now rather than a container that will not start."""
    native = syscalls.native_arch()
    for entry in ctx.arch_map:
        arches = [a for a in (entry.architecture, *entry.sub_architectures) if a in syscalls.ARCH_TOKENS]
        if not arches:
            continue
        host_ctx = replace(ctx, arch_map=(entry,))
        filt = pyseccomp.SyscallFilter(action_value(profile.default_action, profile.default_errno_ret))
        try:
            if native not in arches:
                filt.remove_arch(syscalls.ARCH_TOKENS[native])
            for arch in arches:
                if arch != native:
                    filt.add_arch(syscalls.ARCH_TOKENS[arch])
        except OSError as exc:
            raise SeccompGenError(
                f"libseccomp cannot build a filter for {', '.join(arches)}: {exc.strerror}"
            ) from None
        _add_rules(filt, profile, host_ctx)


def _add_rules(filt: Any, profile: Profile, ctx: Context, actions: ActionMap = action_value) -> set[str]:
    """Add the rules that apply in `ctx`, as runc/crun do; returns the names libseccomp does not know."""
    skipped: set[str] = set()
    default = actions(profile.default_action, profile.default_errno_ret)
    for rule in profile.rules:
        if not ctx.applies(rule):
            continue
        action = actions(rule.action, rule.errno_ret)
        if action == default:
            continue  # libseccomp refuses it (EACCES); runc and crun skip it as redundant
        for name in rule.names:
            nr = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)
            if nr == _NR_SCMP_ERROR:
                skipped.add(name)
                continue
            for args in _args(rule):
                try:
                    filt.add_rule(action, nr, *args)
                except OSError as exc:
                    raise SeccompGenError(
                        f"libseccomp refuses the rule for {name} ({rule.action}): {exc.strerror}"
                    ) from None
    return skipped


@dataclass(frozen=True)
class Outcome:
    returncode: int  # as a shell reports it: 128+N for death by signal N
    stdout: bytes
    stderr: bytes


def run_confined(
    profile: Profile,
    ctx: Context,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    stdin: bytes = b"",
    timeout: float = 60.0,
) -> Outcome:
    """Run argv[0] (an absolute path) in a child that loads the compiled profile just before execve,
    as a runtime with no-new-privileges does."""
    if not os.path.isabs(argv[0]):
        raise SeccompGenError(f"run_confined needs an absolute path, not {argv[0]!r}")
    compiled = compile_profile(profile, ctx)
    environ = dict(os.environ if env is None else env)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    in_r, in_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child: everything but execve happens before the filter is loaded
        try:
            os.dup2(in_r, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in (in_r, in_w, out_r, out_w, err_r, err_w):
                os.close(fd)
            if cwd:
                os.chdir(cwd)
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            compiled.filter.load()
            os.execve(argv[0], list(argv), environ)
        except BaseException:
            os._exit(126)
        os._exit(126)
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    os.write(in_w, stdin)
    os.close(in_w)
    with os.fdopen(out_r, "rb") as out_file, os.fdopen(err_r, "rb") as err_file:
        proc = _Reaper(pid, timeout)
        stdout, stderr = proc.collect(out_file, err_file)
    return Outcome(proc.status, stdout, stderr)


class _Reaper:
    def __init__(self, pid: int, timeout: float) -> None:
        self.pid = pid
        self.timeout = timeout
        self.status = -1

    def collect(self, out_file: Any, err_file: Any) -> tuple[bytes, bytes]:
        import selectors
        import time

        sel = selectors.DefaultSelector()
        chunks: dict[int, list[bytes]] = {out_file.fileno(): [], err_file.fileno(): []}
        for f in (out_file, err_file):
            sel.register(f.fileno(), selectors.EVENT_READ)
        deadline = time.monotonic() + self.timeout
        open_fds = set(chunks)
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(self.pid, signal.SIGKILL)
                break
            for key, _ in sel.select(left):
                fd = int(key.fd)
                data = os.read(fd, 65536)
                if data:
                    chunks[fd].append(data)
                else:
                    sel.unregister(fd)
                    open_fds.discard(fd)
        _, status = os.waitpid(self.pid, 0)
        self.status = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        return b"".join(chunks[out_file.fileno()]), b"".join(chunks[err_file.fileno()])


def run_plain(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None,
              stdin: bytes = b"", timeout: float = 60.0) -> Outcome:
    """The same command without a filter, for comparison."""
    proc = subprocess.run(list(argv), input=stdin, capture_output=True, env=dict(env) if env is not None else None,
                          cwd=cwd, timeout=timeout)
    code = proc.returncode
    return Outcome(128 - code if code < 0 else code, proc.stdout, proc.stderr)
