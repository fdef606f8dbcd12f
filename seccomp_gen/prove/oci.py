"""A Docker-format profile resolved into the OCI runtime-spec's `linux.seccomp` for one host.

Why this exists: runc and crun never see a seccomp-gen (Docker/containers-common format) profile.
CRI-O (through containers-common's `pkg/seccomp`) and containerd/Docker (through moby's
`profiles/seccomp`) read a localhost profile and hand the runtime a resolved `linux.seccomp` in the
bundle's config.json: the runtime-spec has no `includes`/`excludes`, `archMap` or `comment`. To run a
generated profile in a real runtime exactly as a node would, the tests (and anyone writing a bundle
by hand) must do the same resolution, which is this module:

- `architectures`: the archMap entry whose `architecture` is the host's native one, followed by its
  `subArchitectures`; none when no entry matches (libseccomp then uses the native architecture
  only). A profile with a flat `architectures` list keeps it. Both at once is an error, as upstream.
- rules: a rule is dropped when its `excludes.arches` names the host (by the names runtime/default
  profiles use, such as `amd64`), one of its `excludes.caps` is granted, its `includes.arches` do not
  name the host, or one of its `includes.caps` is not granted. `minKernel` is compared with `kernel`
  when one is given (`includes.minKernel`: kept when the kernel is at least that version;
  `excludes.minKernel`: dropped then), as moby does; with no kernel it is assumed met, which is also
  what CRI-O does (containers-common has no minKernel). The conditions go; names, action,
  `errnoRet` and `args` stay; comments go (the runtime-spec has no field for them).
- `defaultAction`, `defaultErrnoRet`, `flags`, `listenerPath`, `listenerMetadata` are copied.

Capabilities are the context's (the container's bounding set, which the upstream code checks).
Everything here is pure: frozen dataclasses in, frozen dataclasses (or plain JSON) out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from seccomp_gen.generator import tables
from seccomp_gen.generator.context import Context
from seccomp_gen.generator.profile import Arg, Filter, Profile, Rule, arg_to_json
from seccomp_gen.ground import syscalls
from seccomp_gen.ground.errors import SeccompGenError

_KERNEL = re.compile(r"^(\d+)\.(\d+)")


@dataclass(frozen=True)
class OciSyscall:
    """One entry of the runtime-spec's `linux.seccomp.syscalls`."""

    names: tuple[str, ...]
    action: str
    errno_ret: int | None = None
    args: tuple[Arg, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"names": list(self.names), "action": self.action}
        if self.errno_ret is not None:
            out["errnoRet"] = self.errno_ret
        if self.args:
            out["args"] = [arg_to_json(a) for a in self.args]
        return out


@dataclass(frozen=True)
class OciSeccomp:
    """The runtime-spec's `linux.seccomp` object."""

    default_action: str
    syscalls: tuple[OciSyscall, ...]
    default_errno_ret: int | None = None
    architectures: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    listener_path: str = ""
    listener_metadata: str = ""

    def names(self) -> set[str]:
        return {name for call in self.syscalls for name in call.names}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"defaultAction": self.default_action}
        if self.default_errno_ret is not None:
            out["defaultErrnoRet"] = self.default_errno_ret
        if self.architectures:
            out["architectures"] = list(self.architectures)
        if self.flags:
            out["flags"] = list(self.flags)
        if self.listener_path:
            out["listenerPath"] = self.listener_path
        if self.listener_metadata:
            out["listenerMetadata"] = self.listener_metadata
        out["syscalls"] = [call.to_json() for call in self.syscalls]
        return out


def kernel_version(release: str) -> tuple[int, int]:
    """`uname -r` ("6.1.0-18-amd64") -> (6, 1)."""
    match = _KERNEL.match(release)
    if match is None:
        raise SeccompGenError(f"cannot read a kernel version from {release!r}")
    return int(match.group(1)), int(match.group(2))


def _kernel_at_least(kernel: tuple[int, int], wanted: str) -> bool:
    return kernel >= kernel_version(wanted)


def architectures(profile: Profile, native: str) -> tuple[str, ...]:
    """The filter's architectures for a host whose native architecture is `native`."""
    if profile.arch_map and profile.architectures:
        raise SeccompGenError("the profile has both 'architectures' and 'archMap': use one of them")
    for entry in profile.arch_map:
        if entry.architecture == native:
            return (native, *entry.sub_architectures)
    return profile.architectures


def _filter_holds(f: Filter, caps: frozenset[str], host: tuple[str, ...], kernel: tuple[int, int] | None,
                  include: bool) -> bool:
    """Does an includes (include=True) / excludes (False) filter fire for this host?"""
    if include:
        if f.arches and not set(f.arches) & set(host):
            return False
        if any(cap not in caps for cap in f.caps):
            return False
        return not (f.min_kernel and kernel is not None and not _kernel_at_least(kernel, f.min_kernel))
    if f.arches and set(f.arches) & set(host):
        return True
    if any(cap in caps for cap in f.caps):
        return True
    return bool(f.min_kernel and kernel is not None and _kernel_at_least(kernel, f.min_kernel))


def rule_applies(rule: Rule, caps: frozenset[str], native: str, kernel: tuple[int, int] | None = None) -> bool:
    """Would CRI-O / containerd keep this rule for a container with `caps` on a `native` host?"""
    host = tables.host_names(native)
    if rule.excludes and _filter_holds(rule.excludes, caps, host, kernel, include=False):
        return False
    return _filter_holds(rule.includes, caps, host, kernel, include=True)


def translate(profile: Profile, ctx: Context, native: str | None = None,
              kernel: str | tuple[int, int] | None = None) -> OciSeccomp:
    """Resolve `profile` for a container in `ctx` (its caps) on a host whose native architecture is
    `native` (this machine's by default), as CRI-O and containerd do for a localhost profile."""
    native = native or syscalls.native_arch()
    release = kernel_version(kernel) if isinstance(kernel, str) else kernel
    calls = tuple(
        OciSyscall(names=tuple(rule.names), action=rule.action, errno_ret=rule.errno_ret, args=rule.args)
        for rule in profile.rules
        if rule_applies(rule, ctx.caps, native, release)
    )
    return OciSeccomp(
        default_action=profile.default_action,
        default_errno_ret=profile.default_errno_ret,
        architectures=architectures(profile, native),
        flags=profile.flags,
        listener_path=profile.listener_path,
        listener_metadata=profile.listener_metadata,
        syscalls=calls,
    )


def linux_seccomp(profile: Profile, ctx: Context, native: str | None = None,
                  kernel: str | tuple[int, int] | None = None) -> dict[str, Any]:
    """`translate` as the JSON object that goes into config.json's `linux.seccomp`."""
    return translate(profile, ctx, native, kernel).to_json()


def without(seccomp: OciSeccomp, name: str) -> OciSeccomp:
    """The same filter with `name` taken out of every rule (a rule left with no names goes), so the
    default action answers it: how the tests show that a runtime needs a syscall."""
    calls = []
    for call in seccomp.syscalls:
        names = tuple(n for n in call.names if n != name)
        if names:
            calls.append(OciSyscall(names, call.action, call.errno_ret, call.args))
    return OciSeccomp(seccomp.default_action, tuple(calls), seccomp.default_errno_ret, seccomp.architectures,
                      seccomp.flags, seccomp.listener_path, seccomp.listener_metadata)


def with_allowed(seccomp: OciSeccomp, names: tuple[str, ...], action: str = "SCMP_ACT_ALLOW") -> OciSeccomp:
    """The same filter with an extra rule for `names` appended (names it already has are left out)."""
    extra = tuple(sorted(set(names) - seccomp.names()))
    if not extra:
        return seccomp
    return OciSeccomp(seccomp.default_action, (*seccomp.syscalls, OciSyscall(extra, action)),
                      seccomp.default_errno_ret, seccomp.architectures, seccomp.flags, seccomp.listener_path,
                      seccomp.listener_metadata)
