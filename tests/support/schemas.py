"""The API servers' own checks of the deployment YAML, run offline: the CRD schemas of openshift/api
and security-profiles-operator (shared/reference/crds/), made structural as the API server applies
them (unknown fields rejected, `nullable`, int32/int64 bounds), and kubernetes-validate for Pods.
CEL rules (`x-kubernetes-validations`) are not JSON Schema and are not evaluated here."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.process import REPO

#: Where the reference CRDs are looked for: $SECCOMP_GEN_CRDS, then the shared reference beside the
#: checkout (they are reference data, not the project's: they are read, never copied in).
CRD_PLACES = [Path(p) for p in (os.environ.get("SECCOMP_GEN_CRDS"),) if p] + [
    REPO.parent / "shared" / "reference" / "crds", Path("/work/shared/reference/crds")]
_INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def structural(node: Any) -> Any:
    """An openAPIV3Schema node as JSON Schema with the API server's pruning made an error."""
    if isinstance(node, list):
        return [structural(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: structural(value) for key, value in node.items() if not key.startswith("x-kubernetes")
           and key not in ("description", "nullable")}
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if node.get("type") == "object" and "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields") \
            and "additionalProperties" not in node:
        out["additionalProperties"] = False
    bounds = _INT_BOUNDS.get(node.get("format", ""))
    if bounds and node.get("type") == "integer":
        out.setdefault("minimum", bounds[0])
        out.setdefault("maximum", bounds[1])
    return out


@cache
def _crds() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> structural schema, for every CRD version in the reference."""
    crds = next((place for place in CRD_PLACES if place.is_dir()), None)
    if crds is None:
        pytest.skip(f"no CRD reference in {', '.join(map(str, CRD_PLACES))} (set SECCOMP_GEN_CRDS)")
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(crds.glob("*.crd.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            found[(f"{group}/{version['name']}", kind)] = structural(version["schema"]["openAPIV3Schema"])
    return found


def crd_errors(document: dict[str, Any]) -> list[str]:
    """What the API server's schema check says of `document` (empty: accepted)."""
    import jsonschema

    key = (document.get("apiVersion", ""), document.get("kind", ""))
    schema = _crds().get(key)
    if schema is None:
        return [f"no CRD serves apiVersion {key[0]!r} kind {key[1]!r}"]
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def pod_errors(document: dict[str, Any], kubernetes_version: str) -> list[str]:
    """kubernetes-validate's strict answer for a Pod (empty: accepted)."""
    import kubernetes_validate

    try:
        kubernetes_validate.validate(document, kubernetes_version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [str(exc.message)]
    return []


def load_yaml(path: Path) -> list[Any]:
    """Every document of a YAML file."""
    return list(yaml.safe_load_all(path.read_text()))


def builtin_errors(document: dict[str, Any], kubernetes_version: str) -> list[str]:
    """kubernetes-validate's strict answer for any built-in kind (Pod, ClusterRole...)."""
    return pod_errors(document, kubernetes_version)
