"""Infrastructure helpers: Kafka topic definitions and native (Docker-free) Kafka and PostgreSQL."""

from lif.infra.topics import TopicDefinition, ensure_topics, load_topic_definitions

__all__ = ["TopicDefinition", "ensure_topics", "load_topic_definitions"]
