"""Security headers on every HTTP response, HTML with a strict Content-Security-Policy, and rate limits.

* Every response: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`
  and, unless it set its own, `Cache-Control: no-store` (case data must not linger in caches) and a CSP
  that allows nothing (`default-src 'none'`): a JSON answer never needs to load anything.
* HTML that LIF renders (National Panel notices, the API docs) goes out through `html_response`, whose CSP
  allows exactly the inline `<script>`/`<style>` blocks of that page, by hash, and no other script.
* `RateLimiter`: token buckets in this process, one per client address for failed authentication (a
  guessing client is refused before its guess is checked) and one per token for every request; a refusal is
  429 with `Retry-After`. Configured by `LIF_RATE_LIMIT_AUTH_FAILURES` and `LIF_RATE_LIMIT_PER_TOKEN`
  (per minute; 0 turns a limit off). Each process keeps its own buckets.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
"""The policy of every response that did not set one: load nothing, be framed by nobody."""

_INLINE = re.compile(r"<(script|style)(?![^>]*\bsrc=)[^>]*>(.*?)</\1>", re.DOTALL | re.IGNORECASE)


def _sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def html_policy(html: str, *, served_assets: bool = False) -> str:
    """A CSP for `html` allowing its inline scripts and styles by hash and nothing from anywhere else.

    `served_assets` (the API docs): also scripts and styles LIF serves itself, the document they fetch
    (`connect-src 'self'`) and their web workers; their widgets set styles at run time, so styles may be
    inline there (scripts never are, but for the page's own, by hash).
    """
    scripts = [_sha256_source(body) for tag, body in _INLINE.findall(html) if tag.lower() == "script"]
    styles = [_sha256_source(body) for tag, body in _INLINE.findall(html) if tag.lower() == "style"]
    if served_assets:
        script_src = " ".join(["'self'", *scripts])
        style_src = "'self' 'unsafe-inline'"
        more = "; connect-src 'self'; worker-src blob:"
    else:
        script_src = " ".join(scripts) or "'none'"
        style_src = " ".join(styles) or "'none'"
        more = ""
    return (
        f"default-src 'none'; script-src {script_src}; style-src {style_src}; img-src 'self' data:; "
        f"frame-ancestors 'none'; base-uri 'none'; form-action 'none'{more}"
    )


def html_response(html: str, *, status_code: int = 200, served_assets: bool = False) -> HTMLResponse:
    """An HTML answer with the strict policy of `html_policy`."""
    policy = html_policy(html, served_assets=served_assets)
    return HTMLResponse(html, status_code=status_code, headers={"Content-Security-Policy": policy})


_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeaders:
    """ASGI middleware adding the headers above to every response (also errors and 404s of unknown paths).

    `cacheable` names path prefixes (the docs' static assets) that keep their own caching headers.
    """

    def __init__(self, app: ASGIApp, cacheable: Iterable[str] = ()) -> None:
        self.app = app
        self.cacheable = tuple(cacheable)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = bool(self.cacheable) and str(scope.get("path", "")).startswith(self.cacheable)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in _ALWAYS if h[0] not in present)
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", JSON_CSP.encode()))
                if b"cache-control" not in present and not cacheable:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """`per_minute` events per key and minute, in bursts of up to `per_minute`; bounded in memory."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000):
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def _bucket(self, key: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(float(self.per_minute), now)
            self._buckets[key] = bucket
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)  # the least recently seen key starts afresh
        else:
            bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.at) * self._rate)
            bucket.at = now
            self._buckets.move_to_end(key)
        return bucket

    def retry_after(self, key: str) -> int | None:
        """Seconds to wait when `key` has no event left (None: it may go on)."""
        if not self.enabled:
            return None
        bucket = self._bucket(key)
        if bucket.tokens >= 1:
            return None
        return max(1, math.ceil((1 - bucket.tokens) / self._rate))

    def take(self, key: str) -> int | None:
        """Spend one event of `key`; the seconds to wait instead when there is none left."""
        wait = self.retry_after(key)
        if wait is None and self.enabled:
            self._buckets[key].tokens -= 1
        return wait


DEFAULT_AUTH_FAILURES_PER_MINUTE = 30
DEFAULT_REQUESTS_PER_TOKEN_PER_MINUTE = 3000


@dataclass
class RateLimiter:
    """The two limits of the HTTP entrypoint (see the module docstring)."""

    auth_failures: TokenBuckets
    per_token: TokenBuckets

    @classmethod
    def from_env(cls, clock: Callable[[], float] = time.monotonic) -> RateLimiter:
        failures = int(os.environ.get("LIF_RATE_LIMIT_AUTH_FAILURES", DEFAULT_AUTH_FAILURES_PER_MINUTE))
        per_token = int(os.environ.get("LIF_RATE_LIMIT_PER_TOKEN", DEFAULT_REQUESTS_PER_TOKEN_PER_MINUTE))
        return cls(TokenBuckets(failures, clock=clock), TokenBuckets(per_token, clock=clock))
