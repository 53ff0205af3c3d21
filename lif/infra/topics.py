"""Kafka topic definitions (`deploy/topics.json`) and their idempotent creation.

The broker runs with `auto.create.topics.enable=false`, so every topic the system uses is declared once
in `deploy/topics.json` and created here, by the runtime and by the test harness alike.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TOPICS_FILE = REPO_ROOT / "deploy" / "topics.json"
TOPICS_FILE_ENV = "LIF_TOPICS_FILE"


@dataclass(frozen=True)
class TopicDefinition:
    """One topic as declared in `deploy/topics.json`."""

    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str] = field(default_factory=dict)

    def with_prefix(self, prefix: str) -> TopicDefinition:
        """The same topic under `prefix + name`, so a test can own an isolated copy."""
        return TopicDefinition(prefix + self.name, self.partitions, self.replication_factor, dict(self.config))

    def to_new_topic(self) -> NewTopic:
        """The admin-client request that creates this topic."""
        return NewTopic(
            name=self.name,
            num_partitions=self.partitions,
            replication_factor=self.replication_factor,
            topic_configs=dict(self.config),
        )


def topics_file() -> Path:
    """Where the definitions are read from: `$LIF_TOPICS_FILE`, else the repo's `deploy/topics.json`."""
    override = os.environ.get(TOPICS_FILE_ENV)
    return Path(override) if override else DEFAULT_TOPICS_FILE


def _parse(raw: dict[str, Any]) -> TopicDefinition:
    return TopicDefinition(
        name=str(raw["name"]),
        partitions=int(raw["partitions"]),
        replication_factor=int(raw["replication_factor"]),
        config={str(k): str(v) for k, v in (raw.get("config") or {}).items()},
    )


def load_topic_definitions(path: Path | None = None) -> list[TopicDefinition]:
    """Read the topic definitions; `path` defaults to `topics_file()`."""
    source = path or topics_file()
    document = json.loads(source.read_text(encoding="utf-8"))
    return [_parse(raw) for raw in document["topics"]]


def topic_names(definitions: Iterable[TopicDefinition] | None = None, *, prefix: str = "") -> list[str]:
    """The (prefixed) names of the given or the declared topics."""
    defs = load_topic_definitions() if definitions is None else definitions
    return [prefix + d.name for d in defs]


async def _wait_until_ready(admin: AIOKafkaAdminClient, names: Sequence[str], deadline: float) -> None:
    """Poll metadata until every topic is known and each partition has a leader.

    A topic just created by the controller reaches the broker's metadata a little later; producing to it
    before then fails, so callers get topics that are usable, not merely requested.
    """
    pending = list(names)
    while pending:
        described = await admin.describe_topics(pending)
        ready = {
            t["topic"]
            for t in described
            if t["error_code"] == 0 and t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"])
        }
        pending = [n for n in pending if n not in ready]
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"Kafka topics not ready in time: {pending}")
        await asyncio.sleep(0.1)


async def topic_configs(admin: AIOKafkaAdminClient, names: Sequence[str]) -> dict[str, dict[str, str]]:
    """Each topic's current config (every key the broker reports)."""
    if not names:
        return {}
    responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
    configs: dict[str, dict[str, str]] = {}
    for response in responses:
        for error_code, _, _, name, entries in response.resources:
            if error_code == 0:
                configs[name] = {entry[0]: entry[1] for entry in entries}
    return configs


async def _align_configs(admin: AIOKafkaAdminClient, defs: Sequence[TopicDefinition]) -> None:
    """Alter the existing topics whose declared config is not what the broker has.

    AlterConfigs sets a topic's whole dynamic config, which is what `deploy/topics.json` declares.
    """
    current = await topic_configs(admin, [d.name for d in defs])
    stale = [d for d in defs if any(current.get(d.name, {}).get(k) != v for k, v in d.config.items())]
    if not stale:
        return
    response = await admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, d.name, configs=dict(d.config)) for d in stale]
    )
    for result in response:
        for error_code, message, _, name in result.resources:
            if error_code != 0:
                raise for_code(error_code)(f"could not update the config of Kafka topic {name}: {message}")


async def ensure_topics(
    bootstrap: str,
    definitions: Iterable[TopicDefinition] | None = None,
    *,
    prefix: str = "",
    ready_timeout: float = 60.0,
) -> None:
    """Create the topics that do not exist yet (idempotent), align the declared configs of those that do,
    and wait until they have leaders.

    `definitions` defaults to `deploy/topics.json`; `prefix` creates isolated copies (e.g. "t123-" gives
    "t123-lif.intake.v1"). An existing topic whose config differs from the declared one (a retention
    changed in `deploy/topics.json`, say) is altered to it; its partitions are never changed.
    """
    defs = [d.with_prefix(prefix) for d in (load_topic_definitions() if definitions is None else definitions)]
    if not defs:
        return
    deadline = time.monotonic() + ready_timeout
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="lif-ensure-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [d for d in defs if d.name not in existing]
        if missing:
            response = await admin.create_topics([d.to_new_topic() for d in missing])
            for topic, error_code, *rest in response.topic_errors:
                if error_code == 0:
                    continue
                error = for_code(error_code)
                if issubclass(error, TopicAlreadyExistsError):
                    continue  # created meanwhile by another process: that is the goal
                message = rest[0] if rest else ""
                raise error(f"could not create Kafka topic {topic}: {message}")
        await _align_configs(admin, [d for d in defs if d.name in existing and d.config])
        await _wait_until_ready(admin, [d.name for d in defs], deadline)
    finally:
        await admin.close()


__all__ = [
    "DEFAULT_TOPICS_FILE",
    "TopicDefinition",
    "ensure_topics",
    "load_topic_definitions",
    "topic_configs",
    "topic_names",
    "topics_file",
]


async def partitions_of(bootstrap: str, names: Sequence[str]) -> dict[str, list[int]]:
    """Partition numbers of each existing topic (a missing topic is left out)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(names))
    finally:
        await admin.close()
    return {
        t["topic"]: sorted(p["partition"] for p in t["partitions"])
        for t in described
        if t["error_code"] == 0 and t["partitions"]
    }
