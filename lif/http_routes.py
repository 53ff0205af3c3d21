"""Which service owns each public HTTP path: the one route table the reverse proxy is generated from.

In the distributed runtime every request enters through one reverse proxy, which sends it to the
service that owns it by method and path. Keeping the table here as data (and not in the proxy's
configuration) lets the tests check that every route of the HTTP API is claimed by exactly one
service, so a new route cannot be forgotten, and lets `lif proxy config` render the configuration.

A route's `path` is a template in the routers' own syntax: `{name}` stands for one path segment, and
a final `/**` claims everything below the path (a subtree one service owns whole). A route with no
`methods` takes every method. GET does not imply HEAD: FastAPI's routes answer HEAD with 405, and the
proxy answers it the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INTAKE = "intake"
DECISIONING = "decisioning"
ORCHESTRATION = "orchestration"
NOTIFICATIONS = "notifications"
LEARNING = "learning"
PROJECTIONS = "projections"
WEB = "web"
SERVICES = (INTAKE, DECISIONING, ORCHESTRATION, NOTIFICATIONS, LEARNING, PROJECTIONS, WEB)
"""The services behind the proxy, named as their `lif serve` targets."""

REQUEST_BODY_LIMIT_BYTES = 1024 * 1024
"""The largest request body accepted (1 MiB), at the proxy and in the application alike."""

DOCS_SERVICE = PROJECTIONS
"""Serves the whole API's OpenAPI document (the union of the services', equal to the embedded one)."""

GET = ("GET",)
POST = ("POST",)


@dataclass(frozen=True)
class Route:
    """`methods` on `path` (a template, see the module docstring) belong to `service`."""

    path: str
    service: str
    methods: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.service not in SERVICES:
            raise ValueError(f"route {self.path}: unknown service {self.service!r}")
        if not self.path.startswith("/"):
            raise ValueError(f"route {self.path}: a path starts with '/'")

    @property
    def subtree(self) -> bool:
        return self.path.endswith("/**")

    def path_regex(self) -> str:
        """An anchored regular expression for the paths this route claims (one trailing slash allowed,
        so that the owner answers its usual redirect)."""
        if self.subtree:
            return "^" + _template_regex(self.path.removesuffix("/**")) + "/.+$"
        return "^" + _template_regex(self.path) + "/?$"

    def claims(self, method: str, path: str) -> bool:
        if self.methods and method.upper() not in self.methods:
            return False
        return re.match(self.path_regex(), path) is not None


def _template_regex(template: str) -> str:
    parts = re.split(r"(\{[^/{}]+\})", template)
    return "".join("[^/]+" if part.startswith("{") else _escape(part) for part in parts)


def _escape(literal: str) -> str:
    """Escape what is special in both Python's and PCRE's syntax (nginx matches these regexes too)."""
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", literal)


ROUTES: tuple[Route, ...] = (
    # The whole API's description and health, as the embedded runtime serves them.
    Route("/openapi.json", DOCS_SERVICE, GET),
    Route("/docs", DOCS_SERVICE, GET),
    Route("/docs-assets/**", DOCS_SERVICE, GET),  # the docs' own scripts and styles (lif.api_docs)
    Route("/redoc", DOCS_SERVICE, GET),
    Route("/healthz", PROJECTIONS, GET),
    Route("/readyz", PROJECTIONS, GET),
    # Intake: notifications over HTTP.
    Route("/v1/incidents", INTAKE, POST),
    # Decisioning: the board's commands on a case, the notices it renders, the reviewer registry and
    # the closed reviews' learning.
    Route("/v1/cases/{case_id}/decisions", DECISIONING, POST),
    Route("/v1/cases/{case_id}/scr-panel-referral", DECISIONING, POST),
    Route("/v1/cases/{case_id}/discretionary-inputs", DECISIONING, POST),
    Route("/v1/cases/{case_id}/lead-reviewers", DECISIONING, POST),
    Route("/v1/cases/{case_id}/panel-notices", DECISIONING, POST),
    Route("/v1/cases/{case_id}/panel-notices/{notice_id}", DECISIONING, GET),
    Route("/v1/cases/{case_id}/panel-notices/{notice_id}/sent", DECISIONING, POST),
    Route("/v1/cases/{case_id}/learning-themes", DECISIONING, POST),
    Route("/v1/cases/{case_id}/panel-notification", DECISIONING, POST),
    Route("/v1/cases/{case_id}/rapid-review", DECISIONING, POST),
    Route("/v1/reviewers", DECISIONING),
    Route("/v1/reviewers/**", DECISIONING),
    Route("/v1/learning/closed-reviews", DECISIONING),
    # Orchestration: every review's commands and views, and the review of a case.
    Route("/v1/reviews/**", ORCHESTRATION),
    Route("/v1/cases/{case_id}/review", ORCHESTRATION, GET),
    # Notifications: what is due, and the calendar feeds (their own unguessable URLs, no bearer token).
    Route("/v1/lscbs/{lscb}/obligations", NOTIFICATIONS, GET),
    Route("/v1/region/obligations", NOTIFICATIONS, GET),
    Route("/v1/feeds/{feed}", NOTIFICATIONS, GET),
    # Notifications' outbox: the recipients directory, messages, the in-app inbox, the Panel notice's delivery.
    Route("/v1/notifications/**", NOTIFICATIONS),
    Route("/v1/me/notifications", NOTIFICATIONS, GET),
    Route("/v1/me/notifications/**", NOTIFICATIONS),
    Route("/v1/cases/{case_id}/panel-notices/{notice_id}/deliveries", NOTIFICATIONS, ("GET", "POST")),
    # Learning collation: the sources of learning, the regional register, search, figures per theme and
    # recommendations tracked to impact.
    Route("/v1/learning/forums", LEARNING, POST),
    Route("/v1/learning/audits", LEARNING, POST),
    Route("/v1/learning/legacy-reviews", LEARNING, POST),
    Route("/v1/learning/register", LEARNING, GET),
    Route("/v1/learning/search", LEARNING, GET),
    Route("/v1/learning/themes", LEARNING, GET),
    Route("/v1/learning/sources/**", LEARNING),
    Route("/v1/learning/recommendations", LEARNING, GET),
    Route("/v1/learning/recommendations/**", LEARNING),
    # Projections: the read model's views.
    Route("/v1/cases/{case_id}", PROJECTIONS, GET),
    Route("/v1/cases/{case_id}/decisions", PROJECTIONS, GET),
    Route("/v1/lscbs/{lscb}/cases", PROJECTIONS, GET),
    Route("/v1/lscbs/{lscb}/reviews", PROJECTIONS, GET),
    Route("/v1/lscbs/{lscb}/annual-report", PROJECTIONS, GET),
    Route("/v1/lscbs/{lscb}/reporting-year", PROJECTIONS, ("GET", "PUT")),  # a board's setting, beside its reports
    Route("/v1/region/summary", PROJECTIONS, GET),
    Route("/v1/region/reviews", PROJECTIONS, GET),
    Route("/v1/region/learning-digest", PROJECTIONS, GET),
    # Reference data (boards, typologies): read-only, served beside the views.
    Route("/v1/boards", PROJECTIONS, GET),
    Route("/v1/typologies", PROJECTIONS, GET),
    Route("/v1/whoami", PROJECTIONS, GET),
    Route("/v1/typologies/**", PROJECTIONS, GET),
    # The web service: the board's pages and their assets, a client of the routes above.
    Route("/app", WEB, GET),
    Route("/app/**", WEB),
)


def owners(method: str, path: str, routes: tuple[Route, ...] = ROUTES) -> list[str]:
    """Every service whose route claims this request (exactly one for a route of the API)."""
    return [route.service for route in routes if route.claims(method, path)]


def owner(method: str, path: str, routes: tuple[Route, ...] = ROUTES) -> str | None:
    """The service a request goes to, or None when no route claims it."""
    found = owners(method, path, routes)
    return found[0] if found else None


def allowed_methods(path: str, routes: tuple[Route, ...] = ROUTES) -> tuple[str, ...] | None:
    """The methods some route takes on this path (None: some route takes every method; empty: no route)."""
    methods: set[str] = set()
    for route in routes:
        if re.match(route.path_regex(), path):
            if not route.methods:
                return None
            methods.update(route.methods)
    return tuple(sorted(methods))
