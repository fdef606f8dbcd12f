"""What minimising found: the typed decisions the report shows, and the Result it returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from seccomp_gen.generator.context import Context
from seccomp_gen.generator.later import LaterCall
from seccomp_gen.generator.narrow.interface import Narrowed, NotNarrowed
from seccomp_gen.generator.profile import Profile


class DeniedKind(StrEnum):
    """Why an observed syscall (or argument value) is not allowed."""

    NEEDS_CAP = "needs-cap"  # the baseline allows it only with a capability the context lacks
    DENIED = "denied"  # a baseline rule denies it outright
    DEFAULT = "default"  # no baseline rule allows it: the default action answers
    ARGUMENT = "argument"  # the baseline denies it for some argument values (seen, or inexpressible)
    ENOSYS_FALLBACK = "enosys-fallback"  # answered ENOSYS; the C library's fallback is allowed instead
    UNNAMED = "unnamed"  # libseccomp has no name for the number: no profile can allow it


class AddedOrigin(StrEnum):
    """Why a syscall the workload was not seen making is in the profile."""

    RUNTIME = "runtime"  # the OCI runtime calls it after loading the filter
    IMPLIED = "implied"  # made on the program's behalf (signal restart/return, thread waits)
    FALLBACK = "fallback"  # the C library's fallback for a call answered ENOSYS
    EXTRA = "extra"  # --allow-extra
    LIBSECCOMP = "libseccomp"  # libseccomp needs it for the filter to load (socketcall)


@dataclass(frozen=True)
class Denied:
    """An observed syscall (or argument value) that the baseline does not allow in the context."""

    name: str
    arches: tuple[str, ...]
    kind: DeniedKind
    detail: str
    allowed_extra: bool = False

    @property
    def counts_as_extra(self) -> bool:
        """Does --fail-on-extra fail on it? A handled ENOSYS fallback does not."""
        return self.kind != DeniedKind.ENOSYS_FALLBACK


@dataclass(frozen=True)
class Unjudged:
    """An observed syscall whose baseline argument rules compare an argument the recording lacks:
    the rules are kept, but whether they deny the workload's calls is not known."""

    name: str
    arch: str
    args: tuple[int, ...]
    detail: str


@dataclass(frozen=True)
class Added:
    name: str
    origin: AddedOrigin
    detail: str
    widening: bool  # True when the baseline does not allow it in the context


@dataclass(frozen=True)
class Findings:
    baseline: str
    provenance: str
    context: Context
    default_action: str
    default_errno: int | None
    baseline_allowed: tuple[str, ...]
    allowed: tuple[str, ...]
    added: tuple[Added, ...]
    denied: tuple[Denied, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)
    #: Architectures the profile has that the baseline's filter lacks (allowed by --allow-arch).
    widened_arches: tuple[str, ...] = ()
    #: Which OCI runtime the profile is for, and why that one (generate fills it in).
    runtime_note: str = ""
    #: Argument-level narrowing: what it narrows (or would, without --narrow-args) and what not, why.
    narrowed: tuple[Narrowed, ...] = ()
    not_narrowed: tuple[NotNarrowed, ...] = ()
    narrow_applied: bool = False
    #: A learning profile (--on-miss log): unseen calls the baseline allows are logged, not denied.
    learning: bool = False
    #: Calls the later recordings (production) hold that the first (the lab run) does not.
    added_later: tuple[LaterCall, ...] = ()
    unjudged: tuple[Unjudged, ...] = ()
    #: arch -> name -> runs, for calls seen in only some of `runs` runs (record --repeat, merge)
    in_some_runs: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    runs: int = 1

    @property
    def removed(self) -> tuple[str, ...]:
        """What the baseline allows and the profile does not."""
        return tuple(sorted(set(self.baseline_allowed) - set(self.allowed)))

    @property
    def reduction_percent(self) -> float:
        if not self.baseline_allowed:
            return 0.0
        return round(100.0 * (1 - len(self.allowed) / len(self.baseline_allowed)), 1)

    @property
    def extras(self) -> tuple[Denied, ...]:
        """Observed but not allowed, and not handled: what --fail-on-extra fails on."""
        return tuple(d for d in self.denied if d.counts_as_extra and not d.allowed_extra)

    @property
    def widenings(self) -> tuple[Added, ...]:
        return tuple(a for a in self.added if a.widening)


@dataclass(frozen=True)
class Result:
    profile: Profile
    findings: Findings
