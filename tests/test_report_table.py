"""report.simple_table lays out `show`'s and `--list-subjects`' tables without importing tabulate
(start-up, issue 15): byte for byte what tabulate prints, or tabulate itself."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st
from tabulate import tabulate

from seccomp_gen.recorder import report

HEADERS = ["arch", "syscall", "count", "first pid", "first exe", "args"]
_TEXT = st.text(alphabet=string.printable + "é\u4e2d", max_size=12)
_CELL = st.one_of(st.integers(min_value=-(2**64), max_value=2**64), _TEXT,
                  st.sampled_from(["", "True", "inf", "1,000", " x", "1e5", "/usr/bin/x", "arg0=0x1,0x2"]))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(_CELL, min_size=6, max_size=6), max_size=6))
def test_every_table_is_what_tabulate_prints(rows: list[list[object]]) -> None:
    assert report.simple_table(rows, HEADERS) == tabulate(rows, headers=HEADERS)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]),
                          st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True),
                          st.integers(min_value=1, max_value=2**64 - 1), st.integers(min_value=0, max_value=2**22),
                          st.sampled_from(["", "/bin/true", "/tmp/\\x1b]0;x", "/usr/lib/jvm/bin/java"]),
                          st.sampled_from(["", "arg0=0x1", "arg0=0x1,0x2 arg1=0x0"])), max_size=8))
def test_show_rows_are_laid_out_without_tabulate(rows: list[tuple[object, ...]]) -> None:
    laid_out = report._plain_table(rows, HEADERS)
    assert laid_out is not None
    assert laid_out == tabulate(rows, headers=HEADERS)
