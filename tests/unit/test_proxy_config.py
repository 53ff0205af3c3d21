"""deploy/proxy/nginx.conf is exactly what `lif proxy config` renders from the route table.

docker-compose.yml mounts the committed file, so a route added to lif/http_routes.py without
regenerating it (`lif proxy config > deploy/proxy/nginx.conf`) fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lif.cli import main
from lif.http_routes import REQUEST_BODY_LIMIT_BYTES, SERVICES
from lif.infra.proxy_config import COMPOSE_UPSTREAMS, TlsFiles, compose_config, render_nginx_config

COMMITTED = Path(__file__).resolve().parents[2] / "deploy" / "proxy" / "nginx.conf"


def test_the_committed_configuration_is_up_to_date() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == compose_config(), (
        "deploy/proxy/nginx.conf is stale: run `lif proxy config > deploy/proxy/nginx.conf`"
    )


def test_lif_proxy_config_prints_the_committed_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["proxy", "config"]) == 0
    assert capsys.readouterr().out == COMMITTED.read_text(encoding="utf-8")


def test_lif_proxy_config_takes_upstreams_and_tls(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["proxy", "config", "--upstream", "intake=10.0.0.5:9001", "--resolver", "none"]
    assert main([*argv, "--tls-certificate", "/certs/chain.pem", "--tls-key", "/certs/key.pem"]) == 0
    text = capsys.readouterr().out
    assert "intake 10.0.0.5:9001;" in text and "resolver " not in text
    assert "listen 8443 ssl;" in text and "ssl_certificate /certs/chain.pem;" in text
    assert main([*argv, "--tls-certificate", "/certs/chain.pem"]) == 2
    assert main(["proxy", "config", "--upstream", "intake"]) == 2


def test_every_service_needs_an_address_and_an_address_is_host_and_port() -> None:
    with pytest.raises(ValueError, match="no upstream address for orchestration"):
        render_nginx_config({s: "h:1" for s in SERVICES if s != "orchestration"})
    for bad in ("intake", "http://intake:8000", "intake:8000; evil", "a b:1"):
        with pytest.raises(ValueError, match="not host:port"):
            render_nginx_config({**COMPOSE_UPSTREAMS, "intake": bad})
    with pytest.raises(ValueError, match="unknown services"):
        render_nginx_config({**COMPOSE_UPSTREAMS, "billing": "billing:8000"})


def test_the_body_cap_and_banner_settings_are_in_the_configuration() -> None:
    text = render_nginx_config(COMPOSE_UPSTREAMS, tls=TlsFiles("/c.pem", "/k.pem"))
    assert f"client_max_body_size {REQUEST_BODY_LIMIT_BYTES};" in text
    assert "server_tokens off;" in text
    assert "daemon" not in compose_config(), "the official image passes `daemon off` itself; twice fails"
