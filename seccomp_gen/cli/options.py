"""Options and helpers shared by the commands that take a profile (verify, check, oci)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from seccomp_gen.generator.profile import Profile

caps_option = click.option("--cap", "caps", multiple=True, metavar="CAP_X",
                           help="A capability the container has (rules gated on it apply).")
profile_option = click.option("--profile", "profile_path", required=True, metavar="FILE",
                              help="The seccomp profile (Docker/OCI JSON).")


def stderr(message: str) -> None:
    """A message for the user, line by line through `printable`: it may quote exe paths or argv."""
    from seccomp_gen.ground.text import printable

    click.echo("\n".join(printable(line) for line in message.split("\n")), err=True)


def load_profile(path: str) -> Profile:
    """A profile that can be run or checked on this host."""
    from seccomp_gen.generator import profile as profile_io
    from seccomp_gen.prove.host import require_profile_arch

    prof = profile_io.load(path)
    require_profile_arch(prof)
    return prof


def normalised_caps(caps: tuple[str, ...]) -> list[str]:
    from seccomp_gen.generator.context import normalise_cap

    return [normalise_cap(c) for c in caps]
