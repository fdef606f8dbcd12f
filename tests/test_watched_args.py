"""The watched arguments are the baselines' own: every argument a bundled baseline conditions on is
recorded, and the data file is exactly what scripts/build_watched_args.py derives from them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

from seccomp_gen.ground import syscalls
from seccomp_gen.recorder.watched import watched_args

REPO = Path(__file__).parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_watched_args", REPO / "scripts" / "build_watched_args.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_data_file_is_generated_from_the_baselines() -> None:
    on_disk = json.loads((REPO / "recorder" / "data" / "watched_args.json").read_text())
    assert on_disk == _script().table(), "run scripts/build_watched_args.py"


def test_every_argument_a_baseline_conditions_on_is_watched() -> None:
    found = _script().conditioned()
    assert found["socket"]["SCMP_ARCH_X86_64"] >= {0, 2}  # family, and NETLINK_AUDIT's protocol
    for syscall, per_arch in found.items():
        for arch, indices in per_arch.items():
            if syscalls.number_of(arch, syscall) is not None:
                assert indices <= set(watched_args(arch, syscall)), (syscall, arch)
