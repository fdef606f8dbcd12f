"""The one loader for the project's data files: knowledge of the world, with provenance, validated.

Each layer keeps its tables as JSON beside its code (recorder/data/, generator/data/,
generator/baselines/, ground/data/) and loads them only through `load_table`, with the shape the
file must have. A table without provenance (an `_about` text, or a `provenance` object) or of
another shape is an error naming the file and line: a hand-edited table must never change the
tool's meaning silently (a typo in a key would otherwise read as "no entry").

Shapes: `str`, `int`, `bool`; `dict` any object (left to its own strict reader); `[shape]` a list
of it; a dict of fixed keys (`"?key"` marks an optional one; keys starting with "_" are comments,
always allowed); `Each(shape)` an object whose every value has that shape, whatever its keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.ground.jsonio import line_of, loads_strict

PROVENANCE_KEYS = ("_about", "provenance")


@dataclass(frozen=True)
class Each:
    """An object whose keys are data (syscall names, runtimes...) and whose values have `shape`."""

    shape: Any


def load_table(package: str, name: str, shape: dict[str, Any]) -> dict[str, Any]:
    """Read `name` (a path below `package`'s folder) and check it against `shape`."""
    return load_table_text(package, name, shape)[0]


def load_table_text(package: str, name: str, shape: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """load_table(), and the file's text (for readers that report lines inside it)."""
    where = f"{package.replace('.', '/')}/{name}"
    try:
        text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SeccompGenError(f"cannot read the data file: {exc}", path=where) from None
    doc = loads_strict(text, where)
    if not isinstance(doc, dict) or not any(isinstance(doc.get(k), str | dict) for k in PROVENANCE_KEYS):
        raise SeccompGenError("a data file must say where its facts come from (an _about text or a provenance "
                              "object)", path=where, line=1)
    _check(doc, shape, "", _Where(where, text))
    return doc, text


@dataclass(frozen=True)
class _Where:
    path: str
    text: str

    def fail(self, what: str, message: str, needle: str) -> SeccompGenError:
        return SeccompGenError(f"{what or 'the table'}: {message}", path=self.path, line=line_of(self.text, needle))


def _check(value: Any, shape: Any, what: str, where: _Where) -> None:
    needle = f'"{what.rsplit(".", 1)[-1]}"' if what else "{"
    if shape in (str, int, bool):
        ok = isinstance(value, shape) and (shape is bool or not isinstance(value, bool))
        if not ok:
            raise where.fail(what, f"expected {shape.__name__}, found {type(value).__name__}", needle)
    elif shape is dict:
        if not isinstance(value, dict):
            raise where.fail(what, "expected an object", needle)
    elif isinstance(shape, list):
        if not isinstance(value, list):
            raise where.fail(what, "expected a list", needle)
        for index, item in enumerate(value):
            _check(item, shape[0], f"{what}[{index}]", where)
    elif isinstance(shape, Each):
        if not isinstance(value, dict):
            raise where.fail(what, "expected an object", needle)
        for key, item in value.items():
            _check(item, shape.shape, f"{what}.{key}" if what else key, where)
    else:
        _check_fields(value, shape, what, where, needle)


def _check_fields(value: Any, shape: dict[str, Any], what: str, where: _Where, needle: str) -> None:
    if not isinstance(value, dict):
        raise where.fail(what, "expected an object", needle)
    fields = {key.removeprefix("?"): (key.startswith("?"), sub) for key, sub in shape.items()}
    for key in value:
        if key not in fields and not key.startswith("_"):
            raise where.fail(what, f"unknown key {key!r} (known: {', '.join(sorted(fields))})", f'"{key}"')
    for key, (optional, sub) in fields.items():
        if key in value:
            _check(value[key], sub, f"{what}.{key}" if what else key, where)
        elif not optional:
            raise where.fail(what, f"missing key {key!r}", needle)
