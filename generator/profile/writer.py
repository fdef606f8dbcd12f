"""The one writer of seccomp profile JSON: NAME.json, and the runtime-spec's `linux.seccomp`.

Stable: the same Profile always dumps to the same bytes (sorted keys and names), so generated files
diff cleanly. A Profile resolved for one host (prove/oci.py) has no archMap, comments or
includes/excludes, and the same writer then gives exactly the runtime-spec object.
"""

from __future__ import annotations

from typing import Any

from seccomp_gen.generator.profile.values import Arg, Filter, Profile, Rule
from seccomp_gen.ground.jsonio import dumps_stable


def _filter_json(f: Filter) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if f.caps:
        out["caps"] = list(f.caps)
    if f.arches:
        out["arches"] = list(f.arches)
    if f.min_kernel:
        out["minKernel"] = f.min_kernel
    return out


def arg_to_json(arg: Arg) -> dict[str, Any]:
    """One argument comparison as Docker/OCI profiles and the runtime-spec both write it."""
    return {"index": arg.index, "value": arg.value, "valueTwo": arg.value_two, "op": arg.op}


def rule_to_json(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"names": sorted(rule.names), "action": rule.action}
    if rule.errno_ret is not None:
        out["errnoRet"] = rule.errno_ret
    if rule.args:
        out["args"] = [arg_to_json(a) for a in rule.args]
    if rule.comment:
        out["comment"] = rule.comment
    if rule.includes:
        out["includes"] = _filter_json(rule.includes)
    if rule.excludes:
        out["excludes"] = _filter_json(rule.excludes)
    return out


def to_json(profile: Profile) -> dict[str, Any]:
    out: dict[str, Any] = {"defaultAction": profile.default_action}
    if profile.default_errno_ret is not None:
        out["defaultErrnoRet"] = profile.default_errno_ret
    if profile.arch_map:
        out["archMap"] = [
            {"architecture": e.architecture, "subArchitectures": list(e.sub_architectures)}
            for e in profile.arch_map
        ]
    if profile.architectures:
        out["architectures"] = list(profile.architectures)
    out.update(filter_options(profile))
    out["syscalls"] = [rule_to_json(r) for r in profile.rules]
    return out


def filter_options(profile: Profile) -> dict[str, Any]:
    """The filter's flags and seccomp agent, as the profile format (and SPO's spec) spell them."""
    out: dict[str, Any] = {}
    if profile.flags:
        out["flags"] = list(profile.flags)
    if profile.listener_path:
        out["listenerPath"] = profile.listener_path
    if profile.listener_metadata:
        out["listenerMetadata"] = profile.listener_metadata
    return out


def dumps(profile: Profile) -> str:
    """The profile as stable JSON text (sorted keys, sorted names, trailing newline)."""
    return dumps_stable(to_json(profile))
