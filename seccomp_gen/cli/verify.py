"""`seccomp-gen verify`: run CMD under the profile as the kernel enforces it."""

from __future__ import annotations

import sys

import click

from seccomp_gen.cli.options import caps_option, load_profile, normalised_caps, profile_option, stderr


@click.command(context_settings={"allow_interspersed_args": False})
@profile_option
@caps_option
@click.option("--complain", is_flag=True, help="Let denied calls succeed; only report them.")
@click.option("--allow-privilege-escalation", is_flag=True,
              help="Load the filter without no_new_privs (as a runtime does without it).")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def verify(profile_path: str, caps: tuple[str, ...], complain: bool, allow_privilege_escalation: bool,
           command: tuple[str, ...]) -> None:
    """Run CMD with the profile enforced by the kernel; report every denied syscall.

    \b
      seccomp-gen verify --profile deploy/app.json -- ./app --flag
    """
    from seccomp_gen.prove import report
    from seccomp_gen.prove.check import judge_denials
    from seccomp_gen.prove.host import context_for
    from seccomp_gen.prove.verify import run_verify

    prof = load_profile(profile_path)
    ctx = context_for(prof, normalised_caps(caps), not allow_privilege_escalation)
    result = run_verify(prof, ctx, command, complain=complain, log=stderr)
    for line in report.denials(judge_denials(prof, ctx, result.denied), complain):
        stderr(line)
    said = report.command_status(result.exit_status, exits_too=False)
    if said:
        stderr(said)
    sys.exit(result.exit_status or 0)
