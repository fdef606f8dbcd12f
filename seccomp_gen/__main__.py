"""`python -m seccomp_gen` runs the CLI."""

from seccomp_gen.cli import run

run()
