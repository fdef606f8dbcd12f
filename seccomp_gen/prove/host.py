"""The context a runtime on this host gives a profile: how verify, check and oci resolve it."""

from __future__ import annotations

from collections.abc import Sequence

from seccomp_gen.generator.context import Context
from seccomp_gen.generator.profile import ArchMapEntry, Profile
from seccomp_gen.ground import syscalls
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
