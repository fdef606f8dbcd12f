#!/usr/bin/env python3
"""Regenerate generator/baselines/*.json from the upstream runtime/default profiles.

Run once per upstream bump:  python scripts/build_baselines.py /path/to/reference/profiles

Each upstream profile is read with the project's strict reader (generator.profile), normalised
(sorted names, explicit errnoRet, no empty fields) and written with its provenance. `crio` is
containers-common with CRI-O's DefaultProfile() edits applied (cri-o/cri-o
internal/config/seccomp/seccomp.go): clone, clone3 and unshare leave the unconditional list and
are allowed with CAP_SYS_ADMIN; without it clone is allowed only without CLONE_NEW* flags (EPERM
with one), and clone3 answers ENOSYS so that glibc falls back to clone. CRI-O picks the clone
flag argument by its build GOARCH (arg1 on s390/s390x); as data that is one rule per case.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seccomp_gen.generator.profile import Arg, Filter, Profile, Rule, load, to_json
from seccomp_gen.ground.jsonio import dumps_stable

OUT = Path(__file__).resolve().parent.parent / "generator" / "baselines"

CONTAINERS_COMMON = {
    "repo": "containers/container-libs",
    "path": "common/pkg/seccomp/seccomp.json",
    "commit": "8840603a",
    "date": "2026-03-04",
}
MOBY = {"repo": "moby/profiles", "path": "seccomp/default.json", "commit": "cd3bed80", "date": "2026-06-30"}
CRIO = {
    "repo": "cri-o/cri-o",
    "path": "internal/config/seccomp/seccomp.go",
    "commit": "f954a17e505f8931e91004403b5f5eac71ab6085",
    "date": "2026-08-21",
    "what": "DefaultProfile(): clone, clone3, unshare gated on CAP_SYS_ADMIN",
}

# CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
CLONE_NEW_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
S390 = ("s390", "s390x")


def normalise(profile: Profile) -> Profile:
    return replace(profile, rules=tuple(r.with_names(r.names) for r in profile.rules))


def crio_edits(base: Profile) -> Profile:
    moved = {"clone", "clone3", "unshare"}
    rules = list(base.rules)
    unconditional = [i for i, r in enumerate(rules) if r.allows and not r.args and not r.includes and not r.excludes]
    for i in unconditional:
        rules[i] = rules[i].with_names(set(rules[i].names) - moved)
    mask = sum(CLONE_NEW_FLAGS)
    sys_admin = Filter(caps=("CAP_SYS_ADMIN",))
    rules.append(Rule(names=("clone", "clone3", "unshare"), action="SCMP_ACT_ALLOW", includes=sys_admin,
                      comment="CRI-O: creating namespaces needs CAP_SYS_ADMIN"))
    for index, includes, excludes in ((0, Filter(), Filter(arches=S390)), (1, Filter(arches=S390), Filter())):
        where = " (s390: flags are arg1)" if index else ""
        rules.append(Rule(names=("clone",), action="SCMP_ACT_ALLOW",
                          args=(Arg(index, mask, "SCMP_CMP_MASKED_EQ", 0),),
                          includes=includes, excludes=excludes,
                          comment=f"CRI-O: clone without CLONE_NEW* flags{where}"))
        rules.append(Rule(names=("clone",), action="SCMP_ACT_ERRNO", errno_ret=1,
                          args=tuple(Arg(index, f, "SCMP_CMP_MASKED_EQ", f) for f in CLONE_NEW_FLAGS),
                          includes=includes, excludes=replace(excludes, caps=("CAP_SYS_ADMIN",)),
                          comment=f"CRI-O: clone with any CLONE_NEW* flag is EPERM without CAP_SYS_ADMIN{where}"))
    rules.append(Rule(names=("clone3",), action="SCMP_ACT_ERRNO", errno_ret=38,
                      excludes=sys_admin,
                      comment="CRI-O: clone3's flags are in memory seccomp cannot read, so ENOSYS makes glibc "
                              "fall back to clone"))
    return replace(base, rules=tuple(r for r in rules if r.names))


def write(name: str, description: str, sources: list[dict[str, str]], profile: Profile) -> None:
    doc = {
        "name": name,
        "description": description,
        "provenance": {
            "sources": sources,
            "generated_by": "scripts/build_baselines.py from the upstream files at these commits",
        },
        "profile": to_json(profile),
    }
    (OUT / f"{name}.json").write_text(dumps_stable(doc))


def main(reference: Path) -> None:
    cc = normalise(load(reference / "containers-common-default.json"))
    moby = normalise(load(reference / "moby-default.json"))
    write("containers-common", "containers/common's default profile (Podman, Buildah; the base of CRI-O's)",
          [CONTAINERS_COMMON], cc)
    write("moby", "Docker's and containerd's runtime/default", [MOBY], moby)
    write("crio", "CRI-O's runtime/default (OpenShift): containers-common with CRI-O's namespace edits",
          [CONTAINERS_COMMON, CRIO], crio_edits(cc))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/reference/profiles"))
