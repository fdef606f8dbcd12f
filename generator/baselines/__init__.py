"""Baselines: the runtime/default profiles a generated profile must never be looser than.

The bundled ones are data files written by scripts/build_baselines.py from the upstream profiles
(see README.md here for their provenance). Any Docker/OCI profile file works as a baseline too: a
site's existing profile.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from seccomp_gen.generator import profile as profile_mod
from seccomp_gen.generator.profile import Profile
from seccomp_gen.ground.data import Each, load_table_text
from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.ground.jsonio import read_text

BUNDLED = ("crio", "containers-common", "moby")
DEFAULT = "crio"


@dataclass(frozen=True)
class Baseline:
    name: str
    description: str
    profile: Profile
    #: upstream repo/path/commit of each source, or the file and its sha256 for FILE baselines
    sources: tuple[dict[str, str], ...] = field(default_factory=tuple)

    def provenance(self) -> str:
        return "; ".join(
            f"{s['repo']}@{s['commit'][:8]} {s['path']}" if "repo" in s else f"{s['file']} sha256:{s['sha256'][:16]}"
            for s in self.sources
        )


_SHAPE = {"name": str, "description": str, "provenance": {"generated_by": str, "sources": [Each(str)]},
          "profile": dict}


def _bundled(name: str) -> Baseline:
    doc, text = load_table_text("seccomp_gen.generator", f"baselines/{name}.json", _SHAPE)
    where = f"generator/baselines/{name}.json"
    return Baseline(
        name=name,
        description=doc["description"],
        profile=profile_mod.from_json(doc["profile"], where, text),
        sources=tuple(doc["provenance"]["sources"]),
    )


def load(spec: str) -> Baseline:
    """`crio`, `containers-common`, `moby`, or the path of a Docker/OCI profile file."""
    if spec in BUNDLED:
        return _bundled(spec)
    path = Path(spec)
    if not path.exists() and "/" not in spec and not spec.endswith(".json"):
        raise SeccompGenError(
            f"unknown baseline {spec!r}: use one of {', '.join(BUNDLED)} or the path of a profile file"
        )
    text = read_text(path)
    prof = profile_mod.loads(text, str(path))
    if not prof.rules and prof.default_action not in profile_mod.PERMISSIVE_ACTIONS:
        raise SeccompGenError("baseline has no syscalls rules: it allows nothing", path=str(path))
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Baseline(name=path.name, description=f"profile file {path}", profile=prof,
                    sources=({"file": str(path), "sha256": digest},))
