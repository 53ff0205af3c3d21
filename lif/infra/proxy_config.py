"""The reverse proxy's nginx configuration, rendered from the route table (lif/http_routes.py).

One renderer serves both places nginx runs: the official image in docker-compose.yml (the committed
deploy/proxy/nginx.conf, which a test keeps equal to `lif proxy config`) and Debian's package when the
tests run the distributed runtime natively (lif/infra/local_proxy.py). Only the process settings
(user, pid and log files, temporary folders) and the upstream addresses differ between them.

Routing is by `"$request_method $uri"` through a `map`, so GET and POST on one path can go to
different services. The upstream address is a variable, so nginx connects (and, given a resolver,
resolves the name) per request: a service restarted or replaced while the proxy runs serves again at
once. A service that cannot be reached answers 503 with `Retry-After` and a JSON body naming it.
Responses the services send themselves, errors included, are passed through untouched.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lif.http_routes import REQUEST_BODY_LIMIT_BYTES, ROUTES, SERVICES, Route

RETRY_AFTER_SECONDS = 5
"""What a client is told to wait before trying a service that is down (restarts take seconds)."""

COMPOSE_UPSTREAMS: dict[str, str] = {service: f"{service}:8000" for service in SERVICES}
"""Where each service's routes are served in docker-compose.yml: the service of that name, on port 8000."""

COMPOSE_RESOLVER = "127.0.0.11"
"""Docker's embedded DNS server: compose service names are resolved per request through it."""

COMPOSE_WEB_ADDRESS = "172.28.0.10"
"""The web service's fixed address on the compose network (docker-compose.yml): the one client whose
`X-Real-IP` (the browser it calls the API for) the proxy believes."""

UNROUTED = ""
WRONG_METHOD = "-"
_ADDRESS = re.compile(r"^[A-Za-z0-9._-]+:[0-9]{1,5}$|^\[[0-9A-Fa-f:]+\]:[0-9]{1,5}$")


@dataclass(frozen=True)
class NginxRuntime:
    """The process settings of one place nginx runs. None leaves a setting at nginx's default."""

    user: str | None
    pid: str | None
    error_log: str
    access_log: str
    temp_dir: str | None = None
    daemon: bool | None = None
    worker_processes: str = "auto"
    worker_connections: int = 1024


CONTAINER_RUNTIME = NginxRuntime(
    user="nginx",
    pid="/var/run/nginx.pid",
    error_log="/dev/stderr warn",
    access_log="/dev/stdout",
)
"""The official nginx image: its `nginx` user, logs to the container's output; the image's command
already passes `daemon off`."""


@dataclass(frozen=True)
class TlsFiles:
    """A certificate chain and its key, as paths where nginx reads them."""

    certificate: str
    key: str
    listen: str = "8443"


def _nginx_string(value: str) -> str:
    """`value` double-quoted; nginx would unescape `\\"`, `\\\\`, `\\t`..., so those are refused."""
    if '"' in value or "\n" in value or re.search(r"\\[\"'\\trn]", value):
        raise ValueError(f"not usable in an nginx configuration: {value!r}")
    return f'"{value}"'


def _map_regex(route: Route, *, any_method: bool = False) -> str:
    methods = "[^ ]+" if any_method or not route.methods else "(" + "|".join(route.methods) + ")"
    return f"~^{methods} {route.path_regex().removeprefix('^')}"


def _service_map(routes: tuple[Route, ...]) -> list[str]:
    """Method and path to service; a known path with another method to WRONG_METHOD (answered 405)."""
    lines = [f'        default "{UNROUTED}";']
    for route in routes:
        lines.append(f"        {_nginx_string(_map_regex(route))} {route.service};")
    fallbacks: list[str] = []
    for route in routes:
        regex = _map_regex(route, any_method=True)
        if route.methods and regex not in fallbacks:
            fallbacks.append(regex)
    lines.extend(f'        {_nginx_string(regex)} "{WRONG_METHOD}";' for regex in fallbacks)
    return lines


def _allow_map(routes: tuple[Route, ...]) -> list[str]:
    """Path to the Allow header of a 405: every method some route takes on that path."""
    methods: dict[str, set[str]] = {}
    for route in routes:
        if route.methods:
            methods.setdefault(route.path_regex(), set()).update(route.methods)
    return ['        default "";'] + [
        f"        {_nginx_string('~' + regex)} {_nginx_string(', '.join(sorted(allowed)))};"
        for regex, allowed in methods.items()
    ]


def _upstream_map(upstreams: Mapping[str, str], routes: tuple[Route, ...]) -> list[str]:
    needed = sorted({route.service for route in routes})
    missing = [service for service in needed if service not in upstreams]
    if missing:
        raise ValueError(f"no upstream address for {', '.join(missing)}")
    unknown = sorted(set(upstreams) - set(SERVICES))
    if unknown:
        raise ValueError(f"unknown services {', '.join(unknown)}; the services are {', '.join(SERVICES)}")
    for service, address in upstreams.items():
        if not _ADDRESS.match(address):
            raise ValueError(f"upstream of {service}: {address!r} is not host:port")
    return ['        default "";'] + [f"        {service} {upstreams[service]};" for service in needed]


def _main_context(runtime: NginxRuntime) -> list[str]:
    lines = []
    if runtime.daemon is not None:
        lines.append(f"daemon {'on' if runtime.daemon else 'off'};")
    if runtime.user:
        lines.append(f"user {runtime.user};")
    lines.append(f"worker_processes {runtime.worker_processes};")
    if runtime.pid:
        lines.append(f"pid {runtime.pid};")
    lines.append(f"error_log {runtime.error_log};")
    lines += ["", "events {", f"    worker_connections {runtime.worker_connections};", "}"]
    return lines


def _temp_paths(runtime: NginxRuntime) -> list[str]:
    if runtime.temp_dir is None:
        return []
    return [
        f"    {kind}_temp_path {runtime.temp_dir}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    ]


def _real_ip_lines(web_clients: Sequence[str]) -> list[str]:
    """nginx's realip module: from the web service alone, `X-Real-IP` names the caller ($remote_addr)."""
    if not web_clients:
        return []
    for client in web_clients:
        ipaddress.ip_network(client, strict=False)  # an address or a network, nothing else
    return [
        "",
        "    # The web service calls the API through this proxy for a browser, which it names in X-Real-IP; that",
        "    # header is believed from the web service's address only (any other client's is replaced below).",
        *(f"    set_real_ip_from {client};" for client in web_clients),
        "    real_ip_header X-Real-IP;",
    ]


def _tls_lines(tls: TlsFiles | None) -> list[str]:
    if tls is None:
        return []
    return [
        f"        listen {tls.listen} ssl;",
        f"        ssl_certificate {tls.certificate};",
        f"        ssl_certificate_key {tls.key};",
        "        ssl_protocols TLSv1.2 TLSv1.3;",
        "        ssl_prefer_server_ciphers off;",
        "        ssl_session_cache shared:lif_tls:10m;",
        "        ssl_session_timeout 1d;",
        "        ssl_session_tickets off;",
    ]


def render_nginx_config(
    upstreams: Mapping[str, str],
    *,
    listen: str = "8000",
    resolver: str | None = None,
    runtime: NginxRuntime = CONTAINER_RUNTIME,
    tls: TlsFiles | None = None,
    routes: tuple[Route, ...] = ROUTES,
    web_clients: Sequence[str] = (),
) -> str:
    """The whole nginx.conf: the services' routes at `upstreams` (service to host:port); `web_clients` are the
    web service's addresses, whose `X-Real-IP` the proxy believes."""
    body_limit = REQUEST_BODY_LIMIT_BYTES
    resolver_lines = (
        [f"    resolver {resolver} valid=10s ipv6=off;", "    resolver_timeout 2s;"] if resolver else []
    )
    lines = [
        "# The LIF reverse proxy: the one public entrypoint of the distributed runtime.",
        "# Generated from lif/http_routes.py by `lif proxy config`; do not edit by hand.",
        "",
        *_main_context(runtime),
        "",
        "http {",
        "    server_tokens off;",
        "    types { }",
        "    default_type application/json;",
        *_temp_paths(runtime),
        *resolver_lines,
        "",
        "    log_format lif '$remote_addr [$time_iso8601] \"$request_method $uri\" $status $body_bytes_sent '",
        "                   'service=$lif_service upstream=$upstream_addr upstream_status=$upstream_status '",
        "                   'request_time=$request_time request_id=$request_id';",
        f"    access_log {runtime.access_log} lif;",
        "",
        f"    # The application refuses bodies over {body_limit} bytes too; the proxy refuses them first.",
        f"    client_max_body_size {body_limit};",
        "    client_header_timeout 30s;",
        "    client_body_timeout 30s;",
        "    send_timeout 30s;",
        "    keepalive_timeout 65s;",
        *_real_ip_lines(web_clients),
        "",
        "    # Which service owns a request, by method and (normalised) path.",
        '    map "$request_method $uri" $lif_service {',
        *_service_map(routes),
        "    }",
        "",
        "    map $uri $lif_allow {",
        *_allow_map(routes),
        "    }",
        "",
        "    map $lif_service $lif_upstream {",
        *_upstream_map(upstreams, routes),
        "    }",
        "",
        "    # nginx routes on the normalised path but passes the raw one on; with dot segments the two could",
        "    # name different routes, so such a path is refused instead of resolved.",
        "    map $request_uri $lif_dot_segments {",
        "        default 0;",
        '        "~*^[^?]*(/|%2f)(\\.|%2e)(\\.|%2e)?(/|%2f|\\?|$)" 1;',
        "    }",
        "",
        '    map $http_host $lif_host {',
        '        "" $host;',
        "        default $http_host;",
        "    }",
        "",
        "    server {",
        f"        listen {listen} default_server;",
        *_tls_lines(tls),
        "        server_name _;",
        "",
        "        # nginx's own 502/504 (the service refused the connection, could not be resolved or timed out)",
        "        # become a 503 that names the service; the services' own responses are never replaced.",
        "        proxy_intercept_errors off;",
        "        error_page 502 503 504 = @unavailable;",
        "        error_page 413 = @too_large;",
        "",
        "        if ($lif_dot_segments) {",
        "            return 400 '{\"detail\":\"a path must not contain . or .. segments\"}';",
        "        }",
        "",
        "        location / {",
        f'            if ($lif_service = "{UNROUTED}") {{',
        "                return 404 '{\"detail\":\"Not Found\"}';",
        "            }",
        f'            if ($lif_service = "{WRONG_METHOD}") {{',
        "                add_header Allow $lif_allow always;",
        "                return 405 '{\"detail\":\"Method Not Allowed\"}';",
        "            }",
        "            proxy_pass http://$lif_upstream;",
        "            proxy_http_version 1.1;",
        '            proxy_set_header Connection "";',
        "            proxy_set_header Host $lif_host;",
        "            # The proxy is the edge: what a client claims in X-Forwarded-For or X-Real-IP is replaced, not",
        "            # extended (lif.client_address believes them from the proxy only).",
        "            proxy_set_header X-Real-IP $remote_addr;",
        "            proxy_set_header X-Forwarded-For $remote_addr;",
        "            proxy_set_header X-Forwarded-Proto $scheme;",
        "            proxy_set_header X-Forwarded-Host $lif_host;",
        "            proxy_set_header X-Request-ID $request_id;",
        "            proxy_connect_timeout 2s;",
        "            proxy_send_timeout 30s;",
        "            proxy_read_timeout 60s;",
        "        }",
        "",
        "        location @unavailable {",
        f"            add_header Retry-After {RETRY_AFTER_SECONDS} always;",
        "            return 503 '{\"detail\":\"service unavailable: $lif_service\"}';",
        "        }",
        "",
        "        location @too_large {",
        f"            return 413 '{{\"detail\":\"request body larger than {body_limit} bytes\"}}';",
        "        }",
        "    }",
        "}",
        "",
    ]
    return "\n".join(lines)


def compose_config() -> str:
    """deploy/proxy/nginx.conf: the routes at the compose services, names resolved by Docker's DNS."""
    return render_nginx_config(COMPOSE_UPSTREAMS, resolver=COMPOSE_RESOLVER, web_clients=(COMPOSE_WEB_ADDRESS,))
