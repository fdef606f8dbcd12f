"""`seccomp-gen oci`: a profile resolved for this host as the runtime-spec's `linux.seccomp`."""

from __future__ import annotations

import json

import click

from seccomp_gen.cli.options import caps_option, load_profile, normalised_caps, stderr


@click.command()
@click.argument("profile_path", metavar="PROFILE")
@caps_option
def oci(profile_path: str, caps: tuple[str, ...]) -> None:
    """Print PROFILE resolved for this host as an OCI runtime-spec `linux.seccomp` object.

    runc and crun read config.json's `linux.seccomp`, not the Docker format: this resolves the
    archMap and the includes/excludes as CRI-O and containerd do (capabilities from --cap).
    """
    from seccomp_gen.prove import oci as oci_spec
    from seccomp_gen.prove.host import context_for, profile_warnings

    prof = load_profile(profile_path)
    ctx = context_for(prof, normalised_caps(caps))
    for warning in profile_warnings(prof):  # stdout stays the runtime-spec object, nothing else
        stderr(f"seccomp-gen: warning: {warning}")
    click.echo(json.dumps(oci_spec.linux_seccomp(prof, ctx), indent=2, sort_keys=True))
