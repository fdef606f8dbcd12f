"""`generate LAB PROD`: the report names what the production recordings added, with their nodes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from seccomp_gen.recorder import recording
from tests.support.generate import X86_64, make_recording
from tests.support.process import cli


def test_the_report_lists_what_production_added(tmp_path: Path) -> None:
    lab = make_recording({X86_64: {"read": None, "write": None, "exit_group": None}})
    prod = make_recording({X86_64: {"read": None, "write": None, "exit_group": None, "getpid": None,
                                    "uname": None}})
    uses = {name: dataclasses.replace(use, nodes=("worker-a", "worker-b") if name == "getpid" else ("worker-b",))
            for name, use in prod.syscalls[X86_64].items()}
    prod = dataclasses.replace(prod, syscalls={X86_64: uses})
    recording.dump(lab, tmp_path / "lab.json")
    recording.dump(prod, tmp_path / "prod.json")
    proc = cli("generate", str(tmp_path / "lab.json"), str(tmp_path / "prod.json"), "--name", "p", "--out",
               str(tmp_path / "out"), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    added = json.loads(proc.stdout)["added_by_later_recordings"]
    assert [(a["name"], a["nodes"]) for a in added] == [("getpid", ["worker-a", "worker-b"]), ("uname", ["worker-b"])]
    assert all(a["recording"].endswith("prod.json") for a in added)
    text = cli("generate", str(tmp_path / "lab.json"), str(tmp_path / "prod.json"), "--name", "p", "--out",
               str(tmp_path / "out"))
    assert "Added by the later recordings" in text.stdout and "worker-a, worker-b" in text.stdout
    alone = cli("generate", str(tmp_path / "prod.json"), "--name", "p", "--out", str(tmp_path / "out"),
                "--format", "json")
    assert json.loads(alone.stdout)["added_by_later_recordings"] == []
