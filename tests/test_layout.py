"""The layers, enforced: ground < recorder < generator < prove < cli, and the size limits.

Every module of the package is parsed (imports inside functions and under TYPE_CHECKING count too)
and each import of the project is checked against the layer order. Inside the recorder, the core
(Recording, collector, Engine interface, launch layer) never imports an engine, and engines import
each other only along the edges listed here, each with its reason.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "seccomp_gen"
LAYERS = ("ground", "recorder", "generator", "prove", "cli")
ENGINES = ("ptrace", "audit", "log", "ebpf")
#: engine -> engines it may import, and why.
ENGINE_EDGES = {
    ("log", "audit"): "complain mode's records are audit records: the audit reader parses what it harvests",
    ("ebpf", "ptrace"): "the ebpf engine follows forks, execs and compat calls with the traced run",
}
#: What the generator may take from the recorder: the Recording type and its I/O.
RECORDING_TYPE = "seccomp_gen.recorder.recording"
#: The only modules that may import click (the CLI is the one layer that knows about it).
CLICK_LAYER = "cli"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module (or module.name), dotted
    line: int


def modules() -> Iterator[tuple[str, Path]]:
    """(dotted name, path) of every module, recorder/ and generator/ through their symlinks."""
    found = [Path(root, f) for root, _dirs, files in os.walk(PACKAGE, followlinks=True) for f in files]
    for path in sorted(p for p in found if p.suffix == ".py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imports_of(name: str, path: Path) -> Iterator[Import]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                yield Import(name, f"{base}.{alias.name}", node.lineno)


def layer(module: str) -> int | None:
    """The layer index of a project module (the package's __init__/__main__ count as ground/cli)."""
    parts = module.split(".")
    if parts[0] != "seccomp_gen":
        return None
    if len(parts) == 1:
        return 0
    if parts[1] == "__main__":
        return LAYERS.index("cli")
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else None


def engine_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "recorder" and parts[2] in ENGINES else None


def wrong_way(imp: Import) -> str | None:
    """Why an import breaks the layering, or None."""
    top = imp.target.split(".")[0]
    if top in ("recorder", "generator"):
        return "imports a generic top-level name: use seccomp_gen.recorder / seccomp_gen.generator"
    if top == "click" and layer(imp.module) != LAYERS.index(CLICK_LAYER):
        return "only the CLI imports click"
    source, target = layer(imp.module), layer(imp.target)
    if source is None or target is None:
        return None
    if target > source:
        return f"{LAYERS[source]} imports the higher layer {LAYERS[target]}"
    if source == LAYERS.index("generator") and target == LAYERS.index("recorder") \
            and not imp.target.startswith(RECORDING_TYPE):
        return "the generator reads the Recording type only, never an engine or the launch layer"
    if source == target == LAYERS.index("recorder"):
        return _recorder_edge(imp)
    return None


def _recorder_edge(imp: Import) -> str | None:
    mine, theirs = engine_of(imp.module), engine_of(imp.target)
    if theirs is None or mine == theirs:
        return None
    if mine is None:
        return f"the recorder's core imports the {theirs} engine"
    if (mine, theirs) not in ENGINE_EDGES:
        return f"the {mine} engine imports the {theirs} engine (not a listed edge)"
    return None


def test_imports_follow_the_layers() -> None:
    problems = [f"{path}:{imp.line}: {imp.target}: {why}"
                for name, path in modules() for imp in imports_of(name, path) if (why := wrong_way(imp))]
    assert not problems, "\n".join(problems)


def test_tests_benchmarks_and_scripts_use_the_package_names() -> None:
    """Outside the package too, nothing imports `recorder` or `generator` as top-level names (from
    the repository root they would load a second copy of every module)."""
    problems = []
    for folder in ("tests", "benchmarks", "scripts"):
        for path in sorted((PACKAGE.parent / folder).rglob("*.py")):
            for imp in imports_of(f"{folder}.{path.stem}", path):
                if imp.target.split(".")[0] in ("recorder", "generator"):
                    problems.append(f"{path}:{imp.line}: {imp.target}")
            if re.search(r"""importorskip\(["'](recorder|generator)\b""", path.read_text()):
                problems.append(f"{path}: importorskip of a generic name")
    assert not problems, "\n".join(problems)


def test_ground_imports_nothing_else_of_the_project() -> None:
    for name, path in modules():
        if name.startswith("seccomp_gen.ground"):
            others = [imp.target for imp in imports_of(name, path)
                      if imp.target.startswith("seccomp_gen.") and not imp.target.startswith("seccomp_gen.ground")]
            assert not others, f"{path}: {others}"


def test_exceptions_import_nothing() -> None:
    path = PACKAGE / "ground" / "errors.py"
    assert [imp.target for imp in imports_of("seccomp_gen.ground.errors", path)] == ["__future__.annotations"]


@pytest.mark.parametrize(("source", "target", "expected"), [
    ("seccomp_gen.ground.atomic", "seccomp_gen.recorder.recording.Recording", "higher layer"),
    ("seccomp_gen.recorder.collector", "seccomp_gen.generator.profile.Profile", "higher layer"),
    ("seccomp_gen.generator.minimise", "seccomp_gen.prove.bpf.run", "higher layer"),
    ("seccomp_gen.prove.check", "seccomp_gen.cli.options.stderr", "higher layer"),
    ("seccomp_gen.recorder.launch.spawn", "seccomp_gen.recorder.ptrace.seize", "core imports"),
    ("seccomp_gen.recorder.audit.reader", "seccomp_gen.recorder.ebpf.bpf", "not a listed edge"),
    ("seccomp_gen.generator.report", "click", "only the CLI"),
    ("seccomp_gen.generator.run", "seccomp_gen.recorder.ptrace.record_command", "Recording type only"),
    ("seccomp_gen.prove.verify", "recorder.ptrace", "generic top-level"),
])
def test_the_contract_refuses_wrong_way_imports(source: str, target: str, expected: str) -> None:
    why = wrong_way(Import(source, target, 1))
    assert why is not None and expected in why


def test_the_contract_accepts_the_right_way() -> None:
    for source, target in (("seccomp_gen.prove.verify", "seccomp_gen.recorder.ptrace.record_command"),
                           ("seccomp_gen.recorder.log.engine", "seccomp_gen.recorder.audit.engine.AuditLogEngine"),
                           ("seccomp_gen.recorder.ebpf.launched", "seccomp_gen.recorder.launch.spawn"),
                           ("seccomp_gen.cli.record", "click")):
        assert wrong_way(Import(source, target, 1)) is None


def test_modules_and_functions_are_short() -> None:
    long_modules = [f"{path}: {n} lines" for _, path in modules()
                    if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES]
    long_functions = []
    for _, path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{path}:{node.lineno}: {node.name} is {length} lines")
    assert not long_modules + long_functions, "\n".join(long_modules + long_functions)


def test_every_data_file_is_loaded_with_a_shape_and_provenance() -> None:
    """Each JSON table of the package is read through ground's validating loader by some accessor."""
    from seccomp_gen.generator import baselines, risk, tables, values_named
    from seccomp_gen.ground import kernel
    from seccomp_gen.recorder import watched
    from seccomp_gen.recorder.audit.tables import tables as audit_tables

    loaders = [kernel.capabilities, kernel.action_names, audit_tables, lambda: watched.watched_args("x", "socket"),
               tables.implied, tables.enosys_fallbacks, lambda: tables.runtime_needs("crun", True),
               lambda: tables.host_names("SCMP_ARCH_X86_64"), lambda: tables.loader_of("moby"),
               tables.narrowable, values_named.table, risk.classes,
               *(lambda n=n: baselines.load(n) for n in baselines.BUNDLED)]
    for load in loaders:
        load()
    files = {p.name for p in _json_files(PACKAGE)}
    assert files == {"capabilities.json", "seccomp_actions.json", "audit.json", "watched_args.json", "implied.json",
                     "enosys_fallbacks.json", "runtime_required.json", "arches.json", "loaders.json", "narrowable.json",
                     "arg_names.json", "risk_classes.json", "crio.json",
                     "containers-common.json", "moby.json"}


def _json_files(root: Path) -> list[Path]:
    return [Path(r, f) for r, _d, fs in os.walk(root, followlinks=True) for f in fs if f.endswith(".json")]


def test_a_data_file_without_provenance_or_of_another_shape_is_refused(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from seccomp_gen.ground.data import Each, load_table
    from seccomp_gen.ground.errors import SeccompGenError

    (tmp_path / "sgdata").mkdir()
    (tmp_path / "sgdata" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    shape = {"_about": str, "names": Each([str])}
    for text, message in (('{"names": {}}', "where its facts come from"),
                          ('{"_about": "x", "names": {"a": [1]}}', "names.a[0]: expected str"),
                          ('{"_about": "x", "names": {}, "nmaes": 1}', "unknown key 'nmaes'"),
                          ('{"_about": "x"}', "missing key 'names'")):
        (tmp_path / "sgdata" / "t.json").write_text(text)
        with pytest.raises(SeccompGenError, match=re.escape(message)):
            load_table("sgdata", "t.json", shape)


def test_seccomp_action_codes_are_libseccomps() -> None:
    import pyseccomp

    from seccomp_gen.ground import kernel

    expected = {"SCMP_ACT_ALLOW": pyseccomp.ALLOW, "SCMP_ACT_LOG": pyseccomp.LOG, "SCMP_ACT_TRAP": pyseccomp.TRAP,
                "SCMP_ACT_KILL_PROCESS": pyseccomp.KILL_PROCESS, "SCMP_ACT_KILL_THREAD": pyseccomp.KILL_THREAD,
                "SCMP_ACT_KILL": pyseccomp.KILL, "SCMP_ACT_ERRNO": pyseccomp.ERRNO(0),
                "SCMP_ACT_TRACE": pyseccomp.TRACE(0), "SCMP_ACT_NOTIFY": pyseccomp.NOTIFY}
    assert {name: kernel.action(name).code for name in kernel.action_names()} == expected
