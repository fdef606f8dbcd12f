"""The one YAML style for outputs: block style, keys in the order given, no line wrapping."""

from __future__ import annotations

from typing import Any

import yaml

from seccomp_gen.ground.text import printable


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # indent list items under their key, as kubectl and the OpenShift docs do
        super().increase_indent(flow, False)


def dump(*documents: Any, header: str = "") -> bytes:
    body = yaml.dump_all(list(documents), Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                         width=2**31 - 1, allow_unicode=True, explicit_start=len(documents) > 1)
    # the header may quote recorded text (exe paths): escaped, it can neither end the comment nor
    # carry characters YAML forbids
    comment = "".join(f"# {printable(line)}".rstrip() + "\n" for line in header.splitlines()) if header else ""
    return (comment + body).encode()
