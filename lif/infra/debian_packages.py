"""Install Debian packages the harness or a renderer needs, when they are missing and we may.

A fresh machine has only what the repo's own files install, so the few system packages LIF relies on
(nginx for the local reverse proxy, Pango for PDF rendering, Chromium for page tests, poppler-utils
for reading PDFs back in tests) are installed here with apt-get, as the harness fetches Kafka's jars.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

_LOCK = threading.Lock()
_UPDATED = False


class DebianPackageError(RuntimeError):
    """A package was missing and could not be installed; the message says why (with apt's output)."""


def can_install() -> bool:
    """True when apt-get exists and we run as root."""
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def install_packages(packages: list[str], *, timeout: float = 900.0) -> None:
    """`apt-get install` the packages (after one `apt-get update` per process), or raise with the reason."""
    global _UPDATED
    if not can_install():
        raise DebianPackageError(
            f"{', '.join(packages)} missing and cannot be installed here (needs root and apt-get): "
            f"apt-get install {' '.join(packages)}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with _LOCK:
        commands = [] if _UPDATED else [["apt-get", "update"]]
        commands.append(["apt-get", "install", "-y", "--no-install-recommends", *packages])
        for command in commands:
            try:
                result = subprocess.run(
                    command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
                )
            except subprocess.TimeoutExpired as exc:
                raise DebianPackageError(f"{' '.join(command)} timed out after {exc.timeout} s") from exc
            if result.returncode != 0:
                raise DebianPackageError(
                    f"{' '.join(command)} failed (exit {result.returncode}):\n{result.stderr[-4000:]}"
                )
        _UPDATED = True


def ensure_binary(binary: str, packages: list[str], *, candidates: tuple[str, ...] = ()) -> str:
    """The path of `binary` (on PATH or one of `candidates`), installing `packages` first when it is missing."""

    def find() -> str | None:
        found = shutil.which(binary)
        if found:
            return found
        return next((path for path in candidates if os.access(path, os.X_OK)), None)

    found = find()
    if found:
        return found
    install_packages(packages)
    found = find()
    if not found:
        raise DebianPackageError(f"apt-get installed {', '.join(packages)}, but no {binary} binary was found")
    return found
