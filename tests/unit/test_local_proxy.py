"""How the harness finds nginx, and what it says when there is none (no nginx is started here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lif.infra import local_proxy
from lif.infra.local_proxy import LocalProxyError, ensure_nginx, find_nginx


def test_lif_nginx_names_the_binary_and_a_missing_one_is_not_found(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    binary = tmp_path / "nginx"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("LIF_NGINX", str(binary))
    assert find_nginx() == str(binary)
    monkeypatch.setenv("LIF_NGINX", str(tmp_path / "absent"))
    assert find_nginx() is None


def test_without_nginx_and_without_install_the_error_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_proxy, "find_nginx", lambda: None)
    with pytest.raises(LocalProxyError, match="apt-get install nginx"):
        ensure_nginx(install=False)


def test_installing_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_proxy, "find_nginx", lambda: None)
    monkeypatch.setattr(local_proxy.os, "geteuid", lambda: 1000)
    with pytest.raises(LocalProxyError, match="needs root"):
        ensure_nginx()
