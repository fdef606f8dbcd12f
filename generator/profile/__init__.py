"""The Profile: an ordered list of rules with conditions, in the Docker/OCI seccomp JSON format.

values.py holds the frozen value types, writer.py the one JSON writer, reader.py the strict reader.
"""

from seccomp_gen.generator.profile.reader import from_json, load, loads
from seccomp_gen.generator.profile.values import (
    ACTIONS,
    FLAGS,
    OPERATORS,
    PERMISSIVE_ACTIONS,
    ArchMapEntry,
    Arg,
    Filter,
    Profile,
    Rule,
    errno_number,
    parse_errno,
)
from seccomp_gen.generator.profile.writer import arg_to_json, dumps, rule_to_json, to_json

__all__ = [
    "ACTIONS",
    "FLAGS",
    "OPERATORS",
    "PERMISSIVE_ACTIONS",
    "ArchMapEntry",
    "Arg",
    "Filter",
    "Profile",
    "Rule",
    "arg_to_json",
    "dumps",
    "errno_number",
    "from_json",
    "load",
    "loads",
    "parse_errno",
    "rule_to_json",
    "to_json",
]
