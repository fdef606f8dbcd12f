"""NAME.json: the profile in the Docker/OCI format that CRI-O, containerd and Docker load."""

from __future__ import annotations

from seccomp_gen.generator.profile import Profile, dumps


def render(profile: Profile) -> bytes:
    return dumps(profile).encode()
