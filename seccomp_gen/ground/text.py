"""Untrusted text (exe paths, argv, comm, file names) kept losslessly and shown safely.

Linux paths and argv are bytes, not text: the kernel hex-encodes any exe or comm it cannot print,
and a program may be run as `/tmp/\\xc3(app`. seccomp-gen keeps such bytes as Python does (PEP 383
surrogateescape: byte 0xXX that is not part of valid UTF-8 becomes U+DCXX) and writes them to JSON
as the escape `\\udcXX`, which every JSON parser accepts and Python reads back to the same bytes.

Shown on a terminal, the same text could carry escape sequences, fake newlines or right-to-left
overrides; `printable` makes every such character visible instead.
"""

from __future__ import annotations

import functools
import re

#: Characters that change what a terminal shows rather than showing themselves: C0 and C1 controls,
#: DEL, bidirectional overrides/isolates/marks, line/paragraph separators, and lone surrogates
#: (bytes that were not UTF-8).
_UNSAFE_CHARS = ("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                 "\ud800-\udfff]")
#: The same set without C0 controls: JSON text has those escaped already (json.dumps does it).
_UNSAFE_IN_JSON_CHARS = ("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                         "\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\"}


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """Compiled on first use, not at import (these Unicode classes are ~1 ms of every start-up)."""
    return re.compile(pattern)


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8: show the byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control, bidi and undecodable character shown as an escape, on one line.
    Backslashes are doubled only when something else was escaped, so ordinary text is unchanged
    and escaped text cannot be mistaken for it."""
    if not _compiled(_UNSAFE_CHARS).search(text):
        return text
    return _compiled(r"[\\]|" + _UNSAFE_CHARS).sub(_visible, text)


def json_safe(json_text: str) -> str:
    """JSON text (from json.dumps with ensure_ascii=False) with the characters a terminal would act
    on - and lone surrogates, which cannot be encoded as UTF-8 - written as \\uXXXX escapes. The
    document's value is unchanged: a JSON parser reads the escapes back to the same characters."""
    return _compiled(_UNSAFE_IN_JSON_CHARS).sub(lambda m: f"\\u{ord(m.group()):04x}", json_text)


def from_bytes(raw: bytes) -> str:
    """Bytes from the kernel (argv, a path) as text, undecodable bytes kept (surrogateescape)."""
    return raw.decode("utf-8", "surrogateescape")
