"""Rewrite the README's measured speed section from one `make bench` results file.

    python benchmarks/readme.py benchmarks/results/bench-<date>.json [README.md]

Everything between the `<!-- bench:start -->` and `<!-- bench:end -->` markers is replaced by the
run's tables (report.markdown) and its targets table (report.targets_table), so the numbers in the
README always come from one run, with the machine they were measured on.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from report import markdown, targets_table

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def section(results: Path) -> str:
    data = json.loads(results.read_text())
    return "\n".join([START, f"From `{results.as_posix().split('benchmarks/', 1)[-1]}` (one `make bench` run).", "",
                      markdown(data), "", targets_table(data), END])


def main(argv: list[str]) -> int:
    results = Path(argv[1])
    readme = Path(argv[2]) if len(argv) > 2 else Path(__file__).parent.parent / "README.md"
    text = readme.read_text()
    if START not in text or END not in text:
        print(f"{readme}: no {START} ... {END} section", file=sys.stderr)
        return 2
    head, rest = text.split(START, 1)
    readme.write_text(head + section(results) + rest.split(END, 1)[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
