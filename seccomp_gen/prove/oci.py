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
- rules: kept when they apply to the host and the context's capabilities, by the generator's own
  applicability test (context.rule_applies), with `minKernel` compared with `kernel` when one is
  given (with none it is assumed met, which is also what CRI-O does). The conditions and comments go;
  names, action, `errnoRet` and `args` stay.
- `defaultAction`, `defaultErrnoRet`, `flags`, `listenerPath`, `listenerMetadata` are copied.

The result is a Profile with nothing left to resolve, written by the one profile writer: its JSON is
exactly the runtime-spec object.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from seccomp_gen.generator.context import Context, KernelVersion, kernel_version, rule_applies
from seccomp_gen.generator.profile import Profile, Rule, to_json
from seccomp_gen.ground import syscalls
from seccomp_gen.ground.errors import SeccompGenError

__all__ = ["architectures", "kernel_version", "linux_seccomp", "rule_applies", "translate", "with_allowed",
           "without"]


def architectures(profile: Profile, native: str) -> tuple[str, ...]:
    """The filter's architectures for a host whose native architecture is `native`."""
    if profile.arch_map and profile.architectures:
        raise SeccompGenError("the profile has both 'architectures' and 'archMap': use one of them")
    for entry in profile.arch_map:
        if entry.architecture == native:
            return (native, *entry.sub_architectures)
    return profile.architectures


def translate(profile: Profile, ctx: Context, native: str | None = None,
              kernel: str | KernelVersion | None = None) -> Profile:
    """Resolve `profile` for a container in `ctx` (its caps) on a host whose native architecture is
    `native` (this machine's by default), as CRI-O and containerd do for a localhost profile."""
    native = native or syscalls.native_arch()
    release = kernel_version(kernel) if isinstance(kernel, str) else kernel
    rules = tuple(Rule(rule.names, rule.action, rule.errno_ret, rule.args)
                  for rule in profile.rules if rule_applies(rule, ctx.caps, native, release))
    return replace(profile, rules=rules, arch_map=(), architectures=architectures(profile, native))


def linux_seccomp(profile: Profile, ctx: Context, native: str | None = None,
                  kernel: str | KernelVersion | None = None) -> dict[str, Any]:
    """`translate` as the JSON object that goes into config.json's `linux.seccomp`."""
    return to_json(translate(profile, ctx, native, kernel))


def without(seccomp: Profile, name: str) -> Profile:
    """The same filter with `name` taken out of every rule (a rule left with no names goes), so the
    default action answers it: how the tests show that a runtime needs a syscall."""
    rules = tuple(replace(rule, names=names) for rule in seccomp.rules
                  if (names := tuple(n for n in rule.names if n != name)))
    return replace(seccomp, rules=rules)


def with_allowed(seccomp: Profile, names: tuple[str, ...], action: str = "SCMP_ACT_ALLOW") -> Profile:
    """The same filter with an extra rule for `names` appended (names it already has are left out)."""
    extra = tuple(sorted(set(names) - seccomp.names()))
    if not extra:
        return seccomp
    return replace(seccomp, rules=(*seccomp.rules, Rule(extra, action)))
