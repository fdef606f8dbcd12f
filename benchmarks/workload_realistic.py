"""Benchmark workload (b): a realistic Python program - imports, JSON, SQLite, TLS context, file I/O.

With SG_BENCH_SELF_TIME=FILE set, the program's own wall time (from before its imports to the end)
is written to FILE: the benchmark shows the program's own slowdown next to whole-process times.
"""

import time

STARTED = time.perf_counter()

import json  # noqa: E402 - timed from before the imports
import os  # noqa: E402
import sqlite3  # noqa: E402
import ssl  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402


def main() -> None:
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    ssl.create_default_context()
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(os.path.join(tmp, "b.db"))
        db.execute("create table t (k text, v text)")
        for i in range(files):
            path = os.path.join(tmp, f"f{i}.json")
            with open(path, "w") as handle:
                json.dump({"i": i, "name": path}, handle)
            with open(path) as handle:
                db.execute("insert into t values (?, ?)", (path, handle.read()))
            os.stat(path)
        db.commit()
        db.close()
    report = os.environ.get("SG_BENCH_SELF_TIME")
    if report:
        with open(report, "w") as out:
            out.write(f"{time.perf_counter() - STARTED:.9f}\n")


main()
