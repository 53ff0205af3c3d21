"""Debian's nginx as the reverse proxy on loopback, for tests and local runs of the distributed runtime.

The configuration is the one docker-compose.yml uses (lif/infra/proxy_config.py), with the upstreams
at the addresses given and everything nginx writes (pid, logs, temporary files) in one folder of its
own, so several proxies can run side by side and nothing outside the folder is touched. The binary
comes from Debian's `nginx` package, installed with apt-get when it is missing and we may install it,
as the harness fetches Kafka's jars.
"""

from __future__ import annotations

import contextlib
import ctypes
import grp
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from lif.infra.debian_packages import DebianPackageError, install_packages
from lif.infra.proxy_config import NginxRuntime, TlsFiles, render_nginx_config

NGINX_ENV = "LIF_NGINX"
"""An nginx binary to use instead of the one on PATH or in /usr/sbin."""


class LocalProxyError(RuntimeError):
    """nginx could not be found, installed or started; the message says why (with its error log)."""


def find_nginx() -> str | None:
    """The nginx binary: `LIF_NGINX`, then PATH, then Debian's /usr/sbin/nginx (often not on a user's PATH)."""
    configured = os.environ.get(NGINX_ENV, "").strip()
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def ensure_nginx(*, install: bool = True, timeout: float = 600.0) -> str:
    """The nginx binary, installing Debian's package first when it is missing and we run as root."""
    found = find_nginx()
    if found or not install:
        if found:
            return found
        raise LocalProxyError("nginx is not installed (apt-get install nginx, or set LIF_NGINX)")
    try:
        install_packages(["nginx"], timeout=timeout)
    except DebianPackageError as exc:
        raise LocalProxyError(str(exc)) from exc
    found = find_nginx()
    if not found:
        raise LocalProxyError("apt-get installed nginx, but no nginx binary was found")
    return found


def nginx_command(binary: str, directory: Path, *options: str) -> list[str]:
    """nginx with `directory` as its prefix, its nginx.conf and its error log (early errors included)."""
    conf, log = directory / "nginx.conf", directory / "error.log"
    return [binary, *options, "-p", f"{directory}/", "-c", str(conf), "-e", str(log)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> None:
    """In the child before exec: stop nginx when the process that started it dies (Linux only), so a
    killed test session leaves no proxy behind."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LocalProxy:
    """One nginx master process in the foreground, listening on 127.0.0.1 at a free port.

    Upstreams given by name need a `resolver` (a DNS server's address), as in compose.
    """

    def __init__(
        self,
        upstreams: Mapping[str, str],
        *,
        binary: str | None = None,
        port: int | None = None,
        tls: TlsFiles | None = None,
        resolver: str | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        self.upstreams = dict(upstreams)
        self.resolver = resolver
        self.binary = binary
        self.requested_port = port
        self.port: int | None = None
        self.tls = tls
        self.start_timeout = start_timeout
        self.directory: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None or self.process is None:
            raise LocalProxyError("the proxy is not running")
        return f"http://127.0.0.1:{self.port}"

    def runtime(self, directory: Path) -> NginxRuntime:
        user = None
        if os.geteuid() == 0:
            # Workers must not run as root; nobody's group is `nogroup` on Debian, `nobody` elsewhere.
            nobody = pwd.getpwnam("nobody")
            user = f"nobody {grp.getgrgid(nobody.pw_gid).gr_name}"
        return NginxRuntime(
            user=user,
            pid=str(directory / "nginx.pid"),
            error_log=f"{directory / 'error.log'} warn",
            access_log=str(directory / "access.log"),
            temp_dir=str(directory),
            daemon=False,
            worker_processes="1",
            worker_connections=256,
        )

    def config(self, directory: Path, port: int) -> str:
        listen = f"127.0.0.1:{port}"
        runtime = self.runtime(directory)
        return render_nginx_config(
            self.upstreams, listen=listen, resolver=self.resolver, runtime=runtime, tls=self.tls,
            web_clients=self.web_clients(),
        )

    def web_clients(self) -> list[str]:
        """The web upstream's address, when it is one (not a name): its X-Real-IP is believed."""
        host = self.upstreams.get("web", "").rpartition(":")[0].strip("[]")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return []
        return [host]

    def start(self) -> str:
        """Start nginx and return its base URL once it accepts connections."""
        binary = self.binary or ensure_nginx(install=False)
        directory = Path(tempfile.mkdtemp(prefix="lif-proxy-"))
        directory.chmod(0o755)  # the workers (nobody) create and read their temporary files in here
        attempts = 1 if self.requested_port is not None else 3  # a free port may be taken before nginx binds it
        last_error = ""
        for _ in range(attempts):
            port = self.requested_port or free_port()
            (directory / "nginx.conf").write_text(self.config(directory, port), encoding="utf-8")
            with open(directory / "stderr.log", "ab") as stderr:
                process = subprocess.Popen(
                    nginx_command(binary, directory),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    preexec_fn=die_with_parent,
                )
            if self._wait_until_listening(process, directory, port):
                self.directory, self.process, self.port = directory, process, port
                return self.url
            self._stop_process(process)
            last_error = _read(directory / "stderr.log") + _read(directory / "error.log")
        shutil.rmtree(directory, ignore_errors=True)
        raise LocalProxyError(f"nginx did not start:\n{last_error[-4000:]}")

    def _wait_until_listening(self, process: subprocess.Popen[bytes], directory: Path, port: int) -> bool:
        """nginx writes its pid file only once it holds its sockets: until then an open port may be
        another program's (the free port was taken in between)."""
        deadline = time.monotonic() + self.start_timeout
        pid_file = directory / "nginx.pid"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            if _read(pid_file).strip() != str(process.pid):
                time.sleep(0.02)
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.settimeout(0.5)
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return True
            time.sleep(0.02)
        return False

    @staticmethod
    def _stop_process(process: subprocess.Popen[bytes]) -> None:
        """Stop nginx: fast shutdown, then kill."""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def error_log(self) -> str:
        return _read(self.directory / "error.log") if self.directory else ""

    def stop(self) -> None:
        """Stop nginx and remove its folder (safe to call twice)."""
        if self.process is not None:
            self._stop_process(self.process)
            self.process = None
            self.port = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> LocalProxy:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
