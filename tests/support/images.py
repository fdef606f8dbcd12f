"""Container images built offline for the loader tests: a busybox-static root and a Debian minbase
root (mmdebstrap from the Debian mirror), each as a tarball that `podman import` / `docker import`
take. The Debian one takes about 45 s, so it is cached under build/cache/ (per checkout: a CI run
builds it once) behind a lock, so parallel sessions do not build it twice."""

from __future__ import annotations

import fcntl
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.support.oci import make_rootfs
from tests.support.process import REPO, need_tool

CACHE = REPO / "build" / "cache"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"


def busybox_tar(out_dir: Path, files: Mapping[str, bytes | Path] = ()) -> Path:  # type: ignore[assignment]
    """A tarball of a busybox-static root (tests/support/oci.make_rootfs) plus `files`."""
    need_tool("busybox", "busybox-static")
    root = make_rootfs(Path(tempfile.mkdtemp(dir=out_dir, prefix="busybox-root.")), files)
    tar = out_dir / f"{root.name}.tar"
    with tarfile.open(tar, "w") as archive:
        archive.add(root, arcname=".")
    return tar


def debian_minbase_tar() -> Path:
    """`mmdebstrap --variant=minbase` of Debian bookworm as a tarball, built once per checkout."""
    need_tool("mmdebstrap", "mmdebstrap")
    CACHE.mkdir(parents=True, exist_ok=True)
    tar = CACHE / f"debian-{DEBIAN_SUITE}-minbase.tar"
    with open(CACHE / ".debian.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tar.exists():
            return tar
        partial = tar.with_suffix(".partial.tar")
        proc = subprocess.run(["mmdebstrap", "--quiet", "--variant=minbase", "--mode=root", DEBIAN_SUITE,
                               str(partial), DEBIAN_MIRROR], capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            partial.unlink(missing_ok=True)
            pytest.skip(f"mmdebstrap could not build a Debian minbase root (mirror reachable?): {proc.stderr[-500:]}")
        os.replace(partial, tar)
    return tar


def debian_minbase_tar_with(out_dir: Path, files: Mapping[str, bytes | Path]) -> Path:
    """A copy of the cached Debian minbase tarball in `out_dir` with `files` (path in the root ->
    bytes, or a host file) appended: the test's own files without rebuilding the root."""
    tar = out_dir / "debian-minbase-with-files.tar"
    shutil.copyfile(debian_minbase_tar(), tar)
    with tarfile.open(tar, "a") as archive:
        for name, content in files.items():
            data = content.read_bytes() if isinstance(content, Path) else content
            info = tarfile.TarInfo("./" + name.lstrip("/"))
            info.size, info.mode = len(data), (content.stat().st_mode & 0o7777 if isinstance(content, Path) else 0o644)
            archive.addfile(info, io.BytesIO(data))
    return tar
