"""The region's pages: the review pipeline and timeliness by board, learning by theme, and the learning register
with search. Aggregates only: the API gives a regional token no case details, and these pages ask for none.

Each figure is drawn as an inline SVG chart (`lif.charts`, the reports' own, drawn on the server: no script, so
the pages' CSP holds) with a table of the same figures beside it, the chart's accessible equivalent."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from lif.charts import grouped_bar_chart, stacked_bar_chart
from services.web.core import ROOT, Form, Web, sign_in_redirect

LEARNING_REGISTER = "/v1/learning/register"
"""The learning service's regional register (every board's sources; other boards' without case ids)."""
LEARNING_SEARCH = "/v1/learning/search"
"""Its ranked full-text search (`?q=`), whose snippets mark the matched words with `<mark>`."""
LEARNING_THEMES = "/v1/learning/themes"
"""Per theme: sources, recommendations made, actions overdue, impact evidenced."""
TIMELINESS = {
    "T1": ("chair_decision_due", "T1: the Chair's decision"),
    "T2": ("panel_notice_due", "T2: the National Panel notice"),
}
"""The obligations whose timeliness the region page draws, and the deadline each is recorded as."""
TIMELINESS_LEGEND = ("met in time", "met late", "open, overdue")
THEME_LEGEND = ("recommendations made", "actions overdue", "impact evidenced")


def svg(chart: str) -> Markup:
    return Markup(chart)  # noqa: S704 - lif.charts builds its SVG from escaped text only


def pipeline(summary: dict[str, Any], reviews: dict[str, Any], boards: list[str]) -> dict[str, Any]:
    """Per board: cases without a review, then its reviews by status; the chart and the table's columns."""
    statuses = sorted({status for b in boards for status in reviews["boards"].get(b, {}).get("by_status", {})})
    legend = ["cases without a review", *(f"reviews {status.replace('_', ' ')}" for status in statuses)]
    rows = []
    for b in boards:
        cases = summary["boards"].get(b, {}).get("cases", 0)
        review = reviews["boards"].get(b, {})
        by_status = review.get("by_status", {})
        rows.append((b, [max(cases - review.get("reviews", 0), 0), *(by_status.get(s, 0) for s in statuses)]))
    chart = stacked_bar_chart(
        "Cases and reviews by board",
        rows,
        legend,
        description="Per board: cases without a review, then reviews by status; the table below gives each figure.",
    )
    return {"chart": svg(chart), "statuses": statuses}


def timeliness(summary: dict[str, Any], boards: list[str]) -> list[dict[str, Any]]:
    """T1 and T2 per board: met in time, met late, and open past their due date; a chart and rows for each."""
    drawn = []
    for rule, (deadline, title) in TIMELINESS.items():
        rows = []
        for b in boards:
            figures = summary["boards"].get(b, {}).get("deadlines", {}).get(deadline, {})
            rows.append((b, [figures.get("met_in_time", 0), figures.get("met_late", 0), figures.get("overdue", 0)]))
        chart = stacked_bar_chart(
            f"{title}, by board",
            rows,
            TIMELINESS_LEGEND,
            description=f"Per board, the {rule} deadlines met in time, met late, and open past their due date.",
        )
        drawn.append({"rule": rule, "title": title, "chart": svg(chart), "rows": rows})
    return drawn


def themes(figures: list[dict[str, Any]], labels: dict[str, str]) -> dict[str, Any]:
    """Learning by theme: per theme, recommendations made, actions overdue and impact evidenced."""
    rows = [
        {
            "label": labels.get(f"{f['typology']}:{f['code']}") or f["code"].replace("_", " "),
            "typology": f["typology"],
            "sources": f.get("sources", 0),
            "made": f.get("recommendations_made", 0),
            "overdue": f.get("actions_overdue", 0),
            "evidenced": f.get("impact_evidenced", 0),
        }
        for f in figures
    ]
    chart = grouped_bar_chart(
        "Learning by theme",
        [(r["label"], [r["made"], r["overdue"], r["evidenced"]]) for r in rows],
        THEME_LEGEND,
        description="Per theme: recommendations made, their actions overdue, and recommendations whose impact "
        "is evidenced; the table below gives each figure.",
    )
    return {"rows": rows, "chart": svg(chart)}


async def theme_labels(web: Web, token: str, figures: list[dict[str, Any]]) -> dict[str, str]:
    """`typology:code` to the theme's label in the typology's newest version (`/v1/typologies`); a code that
    version no longer has keeps its code."""
    named = {f["typology"] for f in figures}
    listed = await web.api.get(token, "/v1/typologies")
    versions = {t["name"]: t["versions"] for t in listed.body.get("typologies", [])} if listed.ok else {}
    labels: dict[str, str] = {}
    for typology in sorted(named & set(versions)):
        answer = await web.api.get(token, f"/v1/typologies/{typology}/{versions[typology][-1]}")
        if answer.ok:
            for theme in answer.body.get("themes", []):
                labels[f"{typology}:{theme['id']}"] = str(theme["label"])
    return labels




def marked_snippet(snippet: str | None) -> Markup | None:
    """The search snippet escaped, with only the search's own `<mark>` highlighting kept as markup."""
    if not snippet:
        return None
    escaped = str(escape(snippet)).replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>")
    return Markup(escaped)  # noqa: S704 - escaped above; only the search's own tags are restored


def learning_rows(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the register page shows of each source: board, kind, month, themes and the snippet."""
    return [
        {
            "title": source.get("title") or "Learning",
            "board": source.get("board") or source.get("lscb"),
            "kind": (source.get("source_kind") or "").replace("_", " "),
            "review_type": (source.get("review_type") or "").upper() or None,
            "incident_month": source.get("incident_month"),
            "themes": ", ".join(
                theme.get("code", "") for theme in source.get("themes") or [] if isinstance(theme, dict)
            ),
            "snippet": marked_snippet(source.get("snippet")),
        }
        for source in sources
    ]


def build_router(web: Web) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(ROOT + "/region")
    async def region(request: Request) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        summary = await web.api.get(session.token, "/v1/region/summary")
        if not summary.ok:
            return web.refusal(request, session, summary)
        reviews = await web.api.get(session.token, "/v1/region/reviews")
        if not reviews.ok:
            return web.refusal(request, session, reviews)
        boards = sorted(set(summary.body.get("boards", {})) | set(reviews.body.get("boards", {})))
        return web.render(
            request,
            "region.html",
            session,
            title="The region",
            summary=summary.body,
            reviews=reviews.body,
            boards=boards,
            pipeline=pipeline(summary.body, reviews.body, boards),
            timeliness=timeliness(summary.body, boards),
        )

    @router.get(ROOT + "/region/learning")
    async def learning(request: Request) -> Response:
        session = await web.session(request)
        if session is None:
            return sign_in_redirect(request)
        query = request.query_params.get("q", "").strip()
        if query:
            answer = await web.api.get(session.token, LEARNING_SEARCH, {"q": query, "limit": "50"})
        else:
            answer = await web.api.get(session.token, LEARNING_REGISTER, {"limit": "50"})
        if not answer.ok and not answer.unrouted:
            return web.refusal(request, session, answer)
        results = learning_rows(answer.body.get("sources", [])) if answer.ok else None
        by_theme = None
        if answer.ok and not query:
            figures = await web.api.get(session.token, LEARNING_THEMES)
            if not figures.ok:
                return web.refusal(request, session, figures)
            found = figures.body.get("themes", [])
            by_theme = themes(found, await theme_labels(web, session.token, found))
        return web.render(
            request,
            "learning.html",
            session,
            title="Learning register",
            results=results,
            query=query,
            values=Form(request.query_params.multi_items()),
            by_theme=by_theme,
        )

    return router
