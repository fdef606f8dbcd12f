"""The target context a profile is generated for, and which baseline rules apply in it.

A runtime evaluates a profile's `includes`/`excludes` when it loads it: `caps` against the
container's capabilities (all listed caps for includes, any listed cap for excludes), `arches`
against the host's architecture (GOARCH names such as amd64), `minKernel` against the running
kernel. The generator does the same for the context the workload will run in: the architectures
the recordings saw (grouped under the host architecture that runs them), the capabilities granted
(none by default, as under restricted-v2), the OCI runtime and whether no-new-privileges is set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from seccomp_gen.generator import tables
from seccomp_gen.generator.profile import ArchMapEntry, Filter, Rule
from seccomp_gen.ground import syscalls
from seccomp_gen.ground.errors import SeccompGenError


@dataclass(frozen=True)
class Context:
    arch_map: tuple[ArchMapEntry, ...]
    caps: frozenset[str] = frozenset()
    runtime: str = "crun"
    no_new_privileges: bool = True

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(e.architecture for e in self.arch_map)

    @property
    def arches(self) -> tuple[str, ...]:
        """Every architecture in the filter: the hosts and their recorded sub-architectures."""
        return tuple(sorted({a for e in self.arch_map for a in (e.architecture, *e.sub_architectures)}))

    def applies(self, rule: Rule) -> bool:
        """Would a runtime in this context load the rule (on any of its hosts)? minKernel is assumed
        met (it is kept on the rule, so a runtime that knows the node's kernel still decides)."""
        return any(rule_applies(rule, self.caps, host) for host in self.hosts)

    def why_not(self, rule: Rule) -> str:
        """Why a rule does not apply here, for reports (`needs CAP_SYS_ADMIN`)."""
        missing = [cap for cap in rule.includes.caps if cap not in self.caps]
        if missing:
            return "needs " + " and ".join(missing)
        present = [cap for cap in rule.excludes.caps if cap in self.caps]
        if present:
            return "not with " + ", ".join(present)
        return "not on " + ", ".join(self.hosts)


KernelVersion = tuple[int, int]
_KERNEL = re.compile(r"^(\d+)\.(\d+)")


def kernel_version(release: str) -> KernelVersion:
    """`uname -r` ("6.1.0-18-amd64") or a minKernel ("4.8") -> (6, 1)."""
    match = _KERNEL.match(release)
    if match is None:
        raise SeccompGenError(f"cannot read a kernel version from {release!r}")
    return int(match.group(1)), int(match.group(2))


def _fires(f: Filter, caps: frozenset[str], host: tuple[str, ...], kernel: KernelVersion | None,
           include: bool) -> bool:
    """Does an includes (include=True) / excludes (False) filter hold for this host? Unknown
    kernel: minKernel is taken as met, so an includes holds and an excludes does not fire."""
    kernel_met = bool(f.min_kernel) and (kernel is None or kernel >= kernel_version(f.min_kernel or ""))
    if include:
        if f.arches and not set(f.arches) & set(host):
            return False
        if any(cap not in caps for cap in f.caps):
            return False
        return not f.min_kernel or kernel_met
    if f.arches and set(f.arches) & set(host):
        return True
    if any(cap in caps for cap in f.caps):
        return True
    return bool(f.min_kernel) and kernel is not None and kernel_met


def rule_applies(rule: Rule, caps: frozenset[str], native: str, kernel: KernelVersion | None = None) -> bool:
    """The one rule-applicability test, as CRI-O and containerd resolve `includes`/`excludes` for a
    container with `caps` on a host whose native arch is `native` (GOARCH names from data/arches.json),
    minKernel compared with `kernel` when it is known. The generator and the OCI translation share it."""
    host = tables.host_names(native)
    if rule.excludes and _fires(rule.excludes, caps, host, kernel, include=False):
        return False
    return _fires(rule.includes, caps, host, kernel, include=True)


def normalise_cap(cap: str) -> str:
    name = cap.strip().upper()
    if not name.startswith("CAP_"):
        name = "CAP_" + name
    if name not in tables.capabilities():
        raise SeccompGenError(f"unknown capability {cap!r} (e.g. CAP_NET_ADMIN)")
    return name


def build(
    recorded_arches: Iterable[str],
    host_arches: Iterable[str] = (),
    arches: Iterable[str] = (),
    caps: Iterable[str] = (),
    runtime: str = "crun",
    no_new_privileges: bool = True,
) -> Context:
    """The context for recordings that saw `recorded_arches` on hosts `host_arches`.

    `arches` (--arch) names the filter's architectures explicitly; it must cover every recorded
    one (dropping an architecture the workload used would break it), and may add more.
    """
    recorded = sorted(set(recorded_arches))
    wanted = sorted(set(arches))
    for arch in [*recorded, *wanted]:
        if not syscalls.is_known_arch(arch):
            raise SeccompGenError(f"unknown architecture {arch!r} (expected a libseccomp name such as "
                                  "SCMP_ARCH_X86_64)")
    if wanted:
        left_out = [a for a in recorded if a not in wanted]
        if left_out:
            raise SeccompGenError(f"the recordings made syscalls on {', '.join(left_out)}, which --arch leaves "
                                  "out: the workload would be killed there; add --arch for it")
    target = wanted or recorded
    if not target:
        raise SeccompGenError("the recordings contain no syscalls: nothing to generate a profile from")
    hosts = set(host_arches)
    groups: dict[str, set[str]] = {}
    for arch in target:
        if arch in hosts:
            primary = arch
        elif tables.primary_of(arch) in hosts:
            primary = tables.primary_of(arch)
        else:
            primary = tables.primary_of(arch)
        groups.setdefault(primary, set()).add(arch)
    arch_map = tuple(
        ArchMapEntry(primary, tuple(sorted(subs - {primary}))) for primary, subs in sorted(groups.items())
    )
    if runtime not in tables.RUNTIMES:
        raise SeccompGenError(f"unknown runtime {runtime!r} (known: {', '.join(tables.RUNTIMES)})")
    return Context(arch_map=arch_map, caps=frozenset(normalise_cap(c) for c in caps), runtime=runtime,
                   no_new_privileges=no_new_privileges)
