"""The reverse proxy, a real nginx with the generated configuration, in front of real HTTP services.

The services are stand-ins that echo which service they are (tests/echo_upstream.py), so these tests
prove the routing, the answers for a service that is down and the proxy's own limits, over loopback.
One nginx serves the whole module.
"""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lif.http_routes import REQUEST_BODY_LIMIT_BYTES, ROUTES, SERVICES, Route, allowed_methods
from lif.infra.local_proxy import LocalProxy, find_nginx, free_port, nginx_command
from lif.infra.proxy_config import (
    COMPOSE_RESOLVER,
    COMPOSE_UPSTREAMS,
    RETRY_AFTER_SECONDS,
    TlsFiles,
    render_nginx_config,
)
from tests.echo_upstream import EchoUpstream
from tests.harness import ProxyFactory

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, EchoUpstream]]:
    running = {service: EchoUpstream(service) for service in SERVICES}
    for upstream in running.values():
        upstream.start()
    yield running
    for upstream in running.values():
        upstream.stop()


@pytest.fixture(scope="module")
def proxy(reverse_proxy: ProxyFactory, upstreams: dict[str, EchoUpstream]) -> LocalProxy:
    return reverse_proxy({service: upstream.address for service, upstream in upstreams.items()})


@pytest.fixture
def client(proxy: LocalProxy) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=proxy.url, timeout=10) as http:
        yield http


def sample_path(route: Route) -> str:
    """A concrete path the route claims: each `{name}` becomes a segment, `/**` two more."""
    path = re.sub(r"\{[^/{}]+\}", "seg-1", route.path.removesuffix("/**"))
    return path + "/a/b" if route.subtree else path


def test_every_route_reaches_the_service_that_owns_it_with_path_query_and_method_unchanged(
    client: httpx.Client,
) -> None:
    for route in ROUTES:
        path = sample_path(route)
        for method in route.methods or ("GET", "POST", "DELETE"):
            response = client.request(method, path, params={"format": "markdown"}, content=b'{"x": 1}')
            assert response.status_code == 200, (route, method, response.text)
            echoed = response.json()
            assert (echoed["service"], echoed["method"], echoed["path"], echoed["query"]) == (
                route.service,
                method,
                path,
                "format=markdown",
            ), route
            assert echoed["body_bytes"] == 8


def test_get_and_post_on_one_path_go_to_different_services(client: httpx.Client) -> None:
    path = "/v1/cases/0b7e4c1e-1a7a-4d7e-9a55-6c3f0f1d2e3a/decisions"
    assert client.get(path).json()["service"] == "projections"
    assert client.post(path, json={}).json()["service"] == "decisioning"
    assert client.get("/v1/cases/c-1").json()["service"] == "projections"
    assert client.get("/v1/cases/c-1/review").json()["service"] == "orchestration"
    head = client.head("/v1/region/summary")  # as FastAPI's GET routes answer it
    assert head.status_code == 405 and head.headers["allow"] == "GET"


def test_a_path_no_service_owns_is_404_and_another_method_is_405_with_allow(client: httpx.Client) -> None:
    for path in ("/v1/nowhere", "/v1/cases", "/", "/v1/reviews"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not Found"}
        assert response.headers["content-type"] == "application/json"

    response = client.put("/v1/cases/c-1/decisions", json={})
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
    assert response.headers["allow"] == ", ".join(allowed_methods("/v1/cases/c-1/decisions") or ())
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}
    refused = client.get("/v1/incidents")
    assert refused.status_code == 405 and refused.headers["allow"] == "POST"


def raw_request(proxy: LocalProxy, target: str) -> tuple[int, bytes]:
    """Send a request line exactly as given (HTTP clients normalise dot segments before sending)."""
    host, port = proxy.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: lif.test\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_a_path_with_dot_segments_is_refused_not_resolved(proxy: LocalProxy) -> None:
    # nginx would route these by the resolved path while the service saw the raw one.
    for target in ("/v1/reviews/r-1/../../cases/c-1", "/v1/reviews/%2E%2e/x", "/v1/cases/c-1/./decisions", "/v1/.."):
        status, body = raw_request(proxy, target)
        assert status == 400, target
        assert body == b'{"detail":"a path must not contain . or .. segments"}'
    status, body = raw_request(proxy, "/v1/cases/c-1.json?next=../x")  # dots inside a segment or the query
    assert status == 200 and b'"service":"projections"' in body


def test_a_service_that_is_down_answers_503_with_retry_after_while_the_others_serve_then_serves_again(
    client: httpx.Client, proxy: LocalProxy, upstreams: dict[str, EchoUpstream]
) -> None:
    orchestration = upstreams["orchestration"]
    pid = proxy.process.pid if proxy.process else None
    orchestration.stop()
    try:
        down = (("GET", "/v1/reviews/r-1"), ("POST", "/v1/reviews/r-1/close"), ("GET", "/v1/cases/c/review"))
        for method, path in down:
            response = client.request(method, path)
            assert response.status_code == 503, (method, path, response.text)
            assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
            assert response.headers["content-type"] == "application/json"
            assert response.json() == {"detail": "service unavailable: orchestration"}
        assert client.post("/v1/incidents", json={}).json()["service"] == "intake"
        assert client.get("/v1/cases/c-1").json()["service"] == "projections"
        assert client.post("/v1/reviewers", json={}).json()["service"] == "decisioning"
    finally:
        orchestration.start()
    # The same nginx, not restarted or reloaded, reaches the restarted service on its next request.
    assert client.get("/v1/reviews/r-1").json()["service"] == "orchestration"
    assert proxy.process is not None and proxy.process.pid == pid and proxy.process.poll() is None


def test_a_service_whose_name_cannot_be_resolved_answers_503_and_the_others_serve(
    reverse_proxy: ProxyFactory, upstreams: dict[str, EchoUpstream]
) -> None:
    """In compose a stopped container's name stops resolving; nginx resolves per request, so it is a 503."""
    addresses = {service: upstream.address for service, upstream in upstreams.items()}
    silent_dns = f"127.0.0.1:{free_port()}"  # nothing answers there: the lookup fails within resolver_timeout
    proxy = reverse_proxy({**addresses, "projections": "projections.invalid:8000"}, resolver=silent_dns)
    with httpx.Client(base_url=proxy.url, timeout=10) as http:
        response = http.get("/v1/cases/c-1")
        assert response.status_code == 503
        assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
        assert response.json() == {"detail": "service unavailable: projections"}
        assert http.post("/v1/incidents", json={}).json()["service"] == "intake"
    assert "could not be resolved" in proxy.error_log()


def test_errors_a_service_answers_itself_pass_through_unchanged(client: httpx.Client) -> None:
    for status in (404, 422, 502, 503, 504):
        response = client.get("/v1/reviewers/rev-1", headers={"X-Echo-Status": str(status)})
        assert response.status_code == status
        assert response.json() == {"detail": f"decisioning says {status}"}
        assert "retry-after" not in response.headers


def test_a_body_over_the_cap_is_refused_with_413_before_any_service_sees_it(client: httpx.Client) -> None:
    at_limit = client.post("/v1/incidents", content=b"x" * REQUEST_BODY_LIMIT_BYTES)
    assert at_limit.status_code == 200
    assert at_limit.json()["body_bytes"] == REQUEST_BODY_LIMIT_BYTES

    over = client.post("/v1/incidents", content=b"x" * (REQUEST_BODY_LIMIT_BYTES + 1))
    assert over.status_code == 413
    assert over.json() == {"detail": f"request body larger than {REQUEST_BODY_LIMIT_BYTES} bytes"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: nginx counts as it reads
        for _ in range(17):
            yield b"y" * 65536

    chunked = client.post("/v1/incidents", content=chunks())
    assert chunked.status_code == 413


def test_no_version_banner_on_any_answer(client: httpx.Client, upstreams: dict[str, EchoUpstream]) -> None:
    answers = [client.get("/v1/cases/c-1"), client.get("/v1/nowhere"), client.put("/v1/incidents")]
    upstreams["intake"].stop()
    try:
        answers.append(client.post("/v1/incidents"))
    finally:
        upstreams["intake"].start()
    assert [answer.status_code for answer in answers] == [200, 404, 405, 503]
    for answer in answers:
        assert answer.headers.get("server") == "nginx", answer.headers  # no version, and not the upstream's
        assert "x-powered-by" not in answer.headers


def test_the_service_learns_the_client_address_scheme_and_host_and_a_request_id(
    client: httpx.Client, proxy: LocalProxy
) -> None:
    echoed = client.get("/v1/region/summary", headers={"X-Forwarded-For": "203.0.113.9"}).json()["headers"]
    assert echoed["x-forwarded-for"] == "127.0.0.1", "a client's own X-Forwarded-For must not pass"
    assert echoed["x-forwarded-proto"] == "http"
    assert echoed["host"] == echoed["x-forwarded-host"] == proxy.url.removeprefix("http://")
    assert re.fullmatch(r"[0-9a-f]{32}", echoed["x-request-id"])
    other = client.get("/v1/region/summary").json()["headers"]["x-request-id"]
    assert other != echoed["x-request-id"]


def test_the_compose_configuration_is_valid_for_nginx(proxy: LocalProxy, tmp_path: Path) -> None:
    """The committed file's routing (compose names, Docker's resolver) passes `nginx -t` with local paths."""
    runtime = LocalProxy(COMPOSE_UPSTREAMS).runtime(tmp_path)
    listen = f"127.0.0.1:{free_port()}"
    text = render_nginx_config(COMPOSE_UPSTREAMS, listen=listen, resolver=COMPOSE_RESOLVER, runtime=runtime)
    (tmp_path / "nginx.conf").write_text(text)
    tmp_path.chmod(0o755)
    binary = find_nginx()
    assert binary
    checked = subprocess.run(
        nginx_command(binary, tmp_path, "-t"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


def test_tls_terminates_at_the_proxy_and_the_service_learns_https(
    reverse_proxy: ProxyFactory, upstreams: dict[str, EchoUpstream], tmp_path: Path
) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    key, certificate = tmp_path / "key.pem", tmp_path / "chain.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(certificate)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    tmp_path.chmod(0o755)
    key.chmod(0o644)  # read by nginx's master (root) or by its user; a test key
    tls_port = free_port()
    tls = TlsFiles(str(certificate), str(key), listen=f"127.0.0.1:{tls_port}")
    reverse_proxy({service: upstream.address for service, upstream in upstreams.items()}, tls=tls)
    trust = ssl.create_default_context(cafile=str(certificate))
    with httpx.Client(base_url=f"https://127.0.0.1:{tls_port}", verify=trust, timeout=10) as https:
        response = https.get("/v1/region/summary")
    assert response.status_code == 200
    assert response.json()["service"] == "projections"
    assert response.json()["headers"]["x-forwarded-proto"] == "https"
