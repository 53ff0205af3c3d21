"""Keyed hashes: identifiers that could point at a child elsewhere never enter the log in clear."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any


def keyed_hash(key: bytes, *parts: str) -> str:
    """HMAC-SHA256 over the parts (unambiguously joined), hex encoded."""
    message = json.dumps(list(parts), separators=(",", ":")).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def content_hash(key: bytes, document: Any) -> str:
    """Keyed hash of a JSON document in canonical form (sorted keys), to compare resubmissions."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()
