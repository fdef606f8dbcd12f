"""Benchmark workload (b): a realistic Python program - imports, JSON, SQLite, TLS context, file I/O."""

import json
import os
import sqlite3
import ssl
import sys
import tempfile


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


main()
