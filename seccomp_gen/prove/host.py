"""The host a profile is run or checked on: its context, and what to warn about the profile here."""

from __future__ import annotations

from collections.abc import Sequence

from seccomp_gen.generator.context import Context
from seccomp_gen.generator.profile import ArchMapEntry, Profile
from seccomp_gen.ground import kernel, syscalls
from seccomp_gen.ground.errors import SeccompGenError


def context_for(profile: Profile, caps: Sequence[str] = (), no_new_privileges: bool = True) -> Context:
    """The profile's archMap entry for this host (or just the host), the granted capabilities."""
    native = syscalls.native_arch()
    arches = profile.filter_arches(native) or [native]
    entry = ArchMapEntry(native, tuple(a for a in arches if a != native))
    return Context(arch_map=(entry,), caps=frozenset(caps), no_new_privileges=no_new_privileges)


def require_profile_arch(profile: Profile) -> None:
    """A profile whose archMap leaves this host out cannot be run or checked here."""
    native = syscalls.native_arch()
    if profile.arch_map and not profile.filter_arches(native):
        raise SeccompGenError(f"the profile has no archMap entry for this host ({native})")


def filter_arches(profile: Profile, native: str | None = None) -> tuple[str, ...]:
    """The architectures the kernel's filter really holds on `native` (this host by default).

    libseccomp's seccomp_init puts the native architecture in every filter, and runc, crun and
    containers-common only ever add the profile's architectures to it, so a profile listing
    `architectures: [SCMP_ARCH_AARCH64]` still filters an x86_64 host's calls by its rules (measured
    with runc 1.1.5 and crun 1.8.1: such a profile's ERRNO rule answers the x86_64 call). verify
    loads the filter the same way (generator/compile.py), and check must judge by this list too."""
    native = native or syscalls.native_arch()
    listed = profile.filter_arches(native)
    return (native, *(a for a in listed if a != native))


def profile_warnings(profile: Profile) -> tuple[str, ...]:
    """What verify, check and oci say about a profile whose answers could mislead: one that allows
    every call it does not name, or one whose architectures leave this host out (see filter_arches)."""
    warnings = []
    if profile.default_action in kernel.permissive_actions():
        logged = " (and logged)" if profile.default_action == "SCMP_ACT_LOG" else ""
        warnings.append(f"the profile's defaultAction is {profile.default_action}: it allows every syscall it "
                        f"does not name{logged}, so a pass or \"0 denied\" says nothing about least privilege")
    native = syscalls.native_arch()
    listed = profile.filter_arches(native)
    if listed and native not in listed:
        warnings.append(f"the profile does not list this host's architecture {native} (it lists "
                        f"{', '.join(listed)}): libseccomp, runc and crun add the native architecture to the "
                        f"filter anyway, so {native} calls are answered by the profile's rules")
    return tuple(warnings)
