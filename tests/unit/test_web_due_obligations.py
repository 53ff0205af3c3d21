"""The what-is-due page reads the obligations API's own answer (kind, ref, due, state), not the register's."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.web.case_pages import _due_obligations

TODAY = date(2015, 4, 1)


def obligation(kind: str, due: str, state: str, ref: str = "", case_id: str = "c" * 36) -> dict[str, Any]:
    return {"case_id": case_id, "kind": kind, "ref": ref, "due": due, "state": state, "met_on": None}


def test_only_what_is_still_to_answer_soonest_first_with_the_tags_flags() -> None:
    rows = _due_obligations(
        [
            obligation("T6", "2015-09-01", "open"),
            obligation("T1", "2015-03-30", "breached"),
            obligation("T2", "2015-04-05", "open"),
            obligation("T1", "2015-03-01", "met"),
            obligation("T1", "2015-03-02", "cancelled"),
            obligation("stage_due", "2015-04-20", "open", ref="chronology"),
        ],
        TODAY,
    )
    assert [(r["name"], r["due"]) for r in rows] == [
        ("T1", "2015-03-30"),
        ("T2", "2015-04-05"),
        ("stage_due (chronology)", "2015-04-20"),
        ("T6", "2015-09-01"),
    ]
    assert [r["breached"] for r in rows] == [True, False, False, False]
    assert [r["due_soon"] for r in rows] == [False, True, False, False]


def test_a_learning_action_shows_as_its_recommendations_with_no_case_link() -> None:
    from services.web.core import Web

    learning = obligation("action_due", "2015-03-30", "breached", ref="a" * 36, case_id=None)  # type: ignore[arg-type]
    learning["recommendation_id"] = "r" * 36
    rows = _due_obligations([learning, obligation("T1", "2015-04-02", "open")], TODAY)
    assert [(r["name"], r["case_id"], r.get("recommendation_id")) for r in rows] == [
        ("action_due", None, "r" * 36),
        ("T1", "c" * 36, None),
    ]
    web = Web(api=None, sessions=None)  # type: ignore[arg-type]  # the templates only
    html = str(web.templates.get_template("due.html").make_module({"root": "/app"}).deadline_rows(rows))
    assert "/cases/None" not in html and "Learning recommendation rrrrrrrr" in html
    assert html.count('href="/app/cases/') == 1 and f'href="/app/cases/{"c" * 36}"' in html
