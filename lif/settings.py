"""Configuration from the environment, read in one place so every entrypoint agrees."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class ConfigurationError(RuntimeError):
    """A required setting is missing or malformed; the message says which and how to fix it."""


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {raw!r}") from None
    if value < 0:
        raise ConfigurationError(f"{name} must not be negative (got {raw!r})")
    return value


DATABASE_SERVICES = (
    "access",
    "intake",
    "decisioning",
    "orchestration",
    "notifications",
    "learning",
    "projections",
    "web",
)
"""Who has a database role of its own; `access` is the token store, written by the admin CLI only."""


def service_database_url_variable(service: str) -> str:
    return f"LIF_{service.upper()}_DATABASE_URL"


def _service_database_urls() -> dict[str, str]:
    found = {}
    for service in DATABASE_SERVICES:
        value = os.environ.get(service_database_url_variable(service), "").strip()
        if value:
            found[service] = value
    return found


def _processes() -> int:
    raw = os.environ.get("LIF_PROCESSES")
    if raw is None or not raw.strip():
        return 2 if (os.cpu_count() or 1) >= 2 else 1
    if raw.strip() not in ("1", "2"):
        raise ConfigurationError(f"LIF_PROCESSES must be 1 or 2, not {raw!r}")
    return int(raw)


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}")


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if raw == "":
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigurationError(f"{name} must be a TCP port (1-65535), not {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class OutboundSettings:
    """How the notifications service reaches the world: the SMTP relay it submits mail to, webhooks, links.

    `LIF_SMTP_HOST` unset means no email channel (messages for email recipients fail as "not configured").
    STARTTLS is required unless `LIF_SMTP_STARTTLS=false` (a relay on localhost, a test server).
    """

    smtp_host: str | None = field(default_factory=lambda: os.environ.get("LIF_SMTP_HOST") or None)
    smtp_port: int = field(default_factory=lambda: _port("LIF_SMTP_PORT", 587))
    smtp_username: str | None = field(default_factory=lambda: os.environ.get("LIF_SMTP_USERNAME") or None)
    smtp_password: str | None = field(default_factory=lambda: os.environ.get("LIF_SMTP_PASSWORD") or None)
    smtp_starttls: bool = field(default_factory=lambda: _flag("LIF_SMTP_STARTTLS", True))
    smtp_timeout: float = field(default_factory=lambda: _seconds("LIF_SMTP_TIMEOUT", 30.0))
    smtp_ca_file: str | None = field(default_factory=lambda: os.environ.get("LIF_SMTP_CA_FILE") or None)
    """Certificates (PEM) to trust for the relay's STARTTLS, beside the system's (a private CA)."""
    mail_from: str = field(default_factory=lambda: os.environ.get("LIF_MAIL_FROM", "LIF <lif@localhost>"))
    message_id_domain: str = field(default_factory=lambda: os.environ.get("LIF_MESSAGE_ID_DOMAIN", "lif.invalid"))
    """The right-hand side of every Message-ID (`<message id>@domain`)."""
    webhook_timeout: float = field(default_factory=lambda: _seconds("LIF_WEBHOOK_TIMEOUT", 10.0))
    public_url: str | None = field(default_factory=lambda: os.environ.get("LIF_PUBLIC_URL") or None)
    """The address people open LIF at (links in messages); none when unset."""
    decisioning_url: str | None = field(default_factory=lambda: os.environ.get("LIF_DECISIONING_URL") or None)
    """Where notifications asks decisioning for a Panel notice's text (e.g. http://decisioning:8000)."""


@dataclass(frozen=True)
class Settings:
    database_url: str | None = field(default_factory=lambda: os.environ.get("DATABASE_URL"))
    kafka_bootstrap: str | None = field(default_factory=lambda: os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    host: str = field(default_factory=lambda: os.environ.get("LIF_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(os.environ.get("LIF_PORT", "8000")))
    data_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("LIF_DATA_DIR", str(PROJECT_ROOT / ".lif-data")))
    )
    pseudonym_key: str | None = field(default_factory=lambda: os.environ.get("LIF_PSEUDONYM_KEY"))
    bootstrap_token: str | None = field(default_factory=lambda: os.environ.get("LIF_BOOTSTRAP_TOKEN"))
    topic_prefix: str = field(default_factory=lambda: os.environ.get("LIF_TOPIC_PREFIX", ""))
    service_database_urls: dict[str, str] = field(default_factory=_service_database_urls)
    """`LIF_<SERVICE>_DATABASE_URL` by service, when set (see `database_url_for`)."""
    startup_timeout: float = field(default_factory=lambda: _seconds("LIF_STARTUP_TIMEOUT", 120.0))
    notifications_tick: float = field(default_factory=lambda: _seconds("LIF_NOTIFICATIONS_TICK_SECONDS", 60.0))
    processes: int = field(default_factory=lambda: _processes())
    """How many processes `lif run` uses (`LIF_PROCESSES`, 1 or 2; default 2 where there are two cores or more)."""
    """Seconds between two timer ticks of the notifications service."""
    """How long a starting process waits for the database, the broker and the migrations before giving up."""
    intake_url: str | None = field(default_factory=lambda: os.environ.get("LIF_INTAKE_URL"))
    api_url: str | None = field(default_factory=lambda: os.environ.get("LIF_API_URL"))
    """Where the web service calls the public API in the distributed runtime (the reverse proxy)."""
    """Where decisioning reaches intake's internal routes (e.g. http://intake:8000), never the proxy."""
    decisioning_url: str | None = field(default_factory=lambda: os.environ.get("LIF_DECISIONING_URL"))
    """Where the read model reaches decisioning's internal routes (e.g. http://decisioning:8000), never the proxy."""
    learning_url: str | None = field(default_factory=lambda: os.environ.get("LIF_LEARNING_URL"))
    """Where the projections ask the learning service for report inputs (e.g. http://learning:8000); unset: the
    reports carry no findings and say so."""
    service_token: str | None = field(default_factory=lambda: os.environ.get("LIF_SERVICE_TOKEN"))
    """This service's credential on internal requests (`lif tokens service <name>`)."""
    orchestration_url: str | None = field(default_factory=lambda: os.environ.get("LIF_ORCHESTRATION_URL"))
    """Where learning collation asks orchestration for closed reviews' Learning Summaries."""
    service_credentials: str | None = field(default_factory=lambda: os.environ.get("LIF_SERVICE_CREDENTIALS"))
    """The service credentials this service accepts on its internal routes (comma-separated)."""
    outbound: OutboundSettings = field(default_factory=OutboundSettings)
    """The notifications service's SMTP relay, webhook timeout and links."""

    def require_database_url(self) -> str:
        if not self.database_url:
            raise ConfigurationError("DATABASE_URL is not set (e.g. postgresql://lif:lif@db:5432/lif)")
        return self.database_url

    def database_url_for(self, service: str) -> str:
        """The URL `service` connects with: `LIF_<SERVICE>_DATABASE_URL` (its own role), else `DATABASE_URL`.

        In production each service has a PostgreSQL role that owns its schemas and nothing else; the
        embedded runtime and single-role setups give only `DATABASE_URL`, which then serves every service.
        """
        if service not in DATABASE_SERVICES:
            raise ValueError(f"unknown service {service!r}; choose from {', '.join(DATABASE_SERVICES)}")
        own = self.service_database_urls.get(service)
        if own:
            return own
        if not self.database_url:
            raise ConfigurationError(
                f"neither {service_database_url_variable(service)} nor DATABASE_URL is set "
                "(e.g. postgresql://lif_intake:secret@db:5432/lif)"
            )
        return self.database_url

    def require_intake_url(self) -> str:
        if not self.intake_url:
            raise ConfigurationError("LIF_INTAKE_URL is not set (where decisioning asks intake, e.g. http://intake:8000)")
        return self.intake_url

    def public_url(self) -> str:
        """The address people open (`LIF_PUBLIC_URL`, e.g. https://lif.example.org), for links LIF prints."""
        configured = os.environ.get("LIF_PUBLIC_URL", "").strip().rstrip("/")
        return configured or f"http://{self.host}:{self.port}"

    def require_api_url(self) -> str:
        if not self.api_url:
            raise ConfigurationError(
                "LIF_API_URL is not set (where the web service calls the API: the proxy, e.g. http://proxy:8000)"
            )
        return self.api_url

    def require_orchestration_url(self) -> str:
        if not self.orchestration_url:
            raise ConfigurationError(
                "LIF_ORCHESTRATION_URL is not set: learning collation asks orchestration for the Learning "
                "Summaries of closed reviews there (orchestration's own address, e.g. http://orchestration:8000)"
            )
        return self.orchestration_url
    def require_decisioning_url(self) -> str:
        if not self.decisioning_url:
            raise ConfigurationError(
                "LIF_DECISIONING_URL is not set (where the read model asks decisioning, e.g. http://decisioning:8000)"
            )
        return self.decisioning_url

    def require_service_token(self) -> str:
        if not self.service_token:
            raise ConfigurationError(
                "LIF_SERVICE_TOKEN is not set: this service's credential on internal requests "
                "(make one with `lif tokens service <name>`)"
            )
        return self.service_token

    def require_kafka(self) -> str:
        if not self.kafka_bootstrap:
            raise ConfigurationError("KAFKA_BOOTSTRAP_SERVERS is not set (e.g. kafka:9092)")
        return self.kafka_bootstrap

    def require_pseudonym_key(self) -> bytes:
        if not self.pseudonym_key or len(self.pseudonym_key) < 16:
            raise ConfigurationError(
                "LIF_PSEUDONYM_KEY must be set to a secret of at least 16 characters: it keys the hashes "
                "that keep source references out of the event log"
            )
        return self.pseudonym_key.encode()

    def topic(self, name: str) -> str:
        """The physical topic name (a prefix isolates test runs sharing one broker)."""
        return f"{self.topic_prefix}{name}"
