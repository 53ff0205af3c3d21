"""The National Panel notice: T3 and T4 content, escaping, and byte-for-byte determinism."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from services.decisioning.notice import (
    TITLE,
    NoticeContent,
    NoticeIncident,
    NoticeReviewer,
    long_date,
    render_html,
    render_markdown,
)

NOTICE_ID = UUID("00000000-0000-4000-8000-000000000001")
CASE_ID = UUID("00000000-0000-4000-8000-0000000000ca")
FACTS: dict[str, object] = {
    "abuse_or_neglect": "suspected",
    "outcome": "seriously_harmed",
    "working_together_concern": "no",
    "place_of_death": None,
    "practice_concern_single_agency": True,
    "good_practice": False,
    "historical": False,
}


def incident(**changes: Any) -> NoticeIncident:
    values: dict[str, Any] = {
        "notifying_agency": "local_authority",
        "source_system": "bolton-cms",
        "incident_date": date(2015, 3, 2),
        "notified_date": date(2015, 3, 10),
        "child_age_years": 4,
        "child_home_lscb": "BOL",
        "facts": dict(FACTS),
        "summary": "Child admitted with head injury.",
    }
    return NoticeIncident(**(values | changes))


def not_initiating(**changes: Any) -> NoticeContent:
    values: dict[str, Any] = {
        "notice_id": NOTICE_ID,
        "board_code": "BOL",
        "board_name": "Bolton",
        "case_id": CASE_ID,
        "decision": "request_iar",
        "decision_label": "Ask for an individual agency review",
        "decided_on": date(2015, 4, 1),
        "due": date(2015, 4, 15),
        "initiating": False,
        "chair": "Pat Chair",
        "justification": ["There is definitive evidence of no concern about how agencies worked together."],
        "incident": incident(),
        "lead_reviewers": [],
        "methodology": None,
        "rule_pack": "nwlif-2015",
        "rule_pack_version": "1.0.0",
    }
    return NoticeContent(**(values | changes))


def initiating(**changes: Any) -> NoticeContent:
    values: dict[str, Any] = {
        "decision": "initiate_scr",
        "decision_label": "Initiate a Serious Case Review",
        "initiating": True,
        "justification": [],
        "incident": None,
        "lead_reviewers": [
            NoticeReviewer("Alex Reviewer", "Independent Reviews Ltd"),
            NoticeReviewer("Sam Second", "University of Somewhere"),
        ],
        "methodology": "targeted",
    }
    return not_initiating(**(values | changes))


def visible_text(document: str) -> str:
    """The HTML's text with tags removed and entities kept, enough to look for escaped values."""
    return re.sub(r"<[^>]+>", " ", document)


def test_t3_notice_has_the_justification_and_every_incident_fact_and_no_lead_reviewers() -> None:
    content = not_initiating()
    assert content.content_rule == "T3"
    document = render_html(content)
    markdown = render_markdown(content)

    assert f"<title>{TITLE}</title>" in document
    assert content.justification[0] in document
    assert content.justification[0] in markdown
    expected_rows = {
        "Abuse or neglect": "suspected",
        "Outcome": "seriously harmed",
        "Working together concern": "no",
        "Place of death": "none",
        "Practice concern single agency": "yes",
        "Good practice": "no",
        "Historical": "no",
        "Notifying agency": "local authority",
        "Source system": "bolton-cms",
        "Incident date": "2 March 2015",
        "Notified to the board": "10 March 2015",
        "Child&#x27;s age (years)": "4",
        "Child&#x27;s home board": "BOL",
    }
    for label, value in expected_rows.items():
        assert f'<tr><th scope="row">{label}</th><td>{value}</td></tr>' in document
        assert f"| {label.replace('&#x27;', chr(39))} | {value} |" in markdown
    assert "Child admitted with head injury." in document
    assert "> Child admitted with head injury." in markdown
    assert "Lead reviewers" not in document
    assert "Lead reviewers" not in markdown
    assert "T3: decision not to initiate" in document
    assert "1 April 2015" in document  # decided on
    assert '<th scope="row">Due to the National Panel by</th><td>15 April 2015</td>' in document
    assert "| Local Safeguarding Children Board | Bolton (BOL) |" in markdown
    assert str(NOTICE_ID) in document and str(CASE_ID) in document
    assert "nwlif-2015 1.0.0" in document and "nwlif-2015 1.0.0" in markdown


def test_t3_notice_says_erased_when_the_summary_was_erased() -> None:
    content = not_initiating(incident=incident(summary=None))
    assert '<p class="summary">[erased]</p>' in render_html(content)
    assert "> \\[erased\\]" in render_markdown(content)


def test_t4_notice_names_the_lead_reviewers_and_the_methodology_and_carries_no_incident() -> None:
    content = initiating()
    assert content.content_rule == "T4"
    document = render_html(content)
    markdown = render_markdown(content)

    for reviewer in content.lead_reviewers:
        assert f"<tr><td>{reviewer.name}</td><td>{reviewer.organisation}</td></tr>" in document
        assert f"| {reviewer.name} | {reviewer.organisation} |" in markdown
    assert "<h2>Methodology</h2>\n<p>Targeted</p>" in document
    assert "## Methodology\n\nTargeted\n" in markdown
    assert "Initiate a Serious Case Review" in document
    assert "The incident notification" not in document
    assert "Justification" not in markdown
    assert "T4: decision to initiate" in document


def test_t4_notice_without_a_methodology_says_it_is_not_yet_recorded() -> None:
    assert "<p>not yet recorded</p>" in render_html(initiating(methodology=None))


def test_every_value_is_escaped_in_html_and_in_markdown() -> None:
    hostile = '<script>alert("x")</script> & Co | *bold* [link](http://x) `code` _u_ #h'
    content = initiating(
        board_name=hostile,
        chair=hostile,
        decision_label=hostile,
        lead_reviewers=[NoticeReviewer(hostile, hostile)],
        methodology=hostile,
    )
    document = render_html(content)
    assert "<script>" not in document
    assert document.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co") == 6
    assert "&lt;script&gt;" in visible_text(document)

    markdown = render_markdown(content)
    assert "<script>" not in markdown
    assert "[link](http://x)" not in markdown and "*bold*" not in markdown and "`code`" not in markdown
    assert "&lt;script&gt;" in markdown
    assert "\\| \\*bold\\* \\[link\\](http://x) \\`code\\` \\_u\\_ \\#h" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| Decision |"))
    assert row.count(" | ") == 1  # the value's pipe does not open another column

    t3 = not_initiating(
        justification=["- not a list", "1. not a list either", "<b>bold</b>"],
        incident=incident(source_system="<img src=x>", summary="<i>a</i>\n\n# not a heading"),
    )
    document = render_html(t3)
    assert "<img" not in document and "<b>" not in document and "<i>" not in document
    assert "&lt;img src=x&gt;" in document
    markdown = render_markdown(t3)
    assert "\n\\- not a list\n" in markdown
    assert "\n1\\. not a list either\n" in markdown
    assert "> \\# not a heading" in markdown
    assert "<b>" not in markdown and "<img" not in markdown


def test_rendering_is_deterministic_for_equal_content() -> None:
    first = not_initiating()
    reordered_facts = dict(reversed(list(FACTS.items())))
    same = not_initiating(incident=incident(facts=reordered_facts))
    assert render_html(first) == render_html(same)
    assert render_markdown(first) == render_markdown(same)
    digest = hashlib.sha256(render_html(initiating()).encode()).hexdigest()
    assert hashlib.sha256(render_html(initiating()).encode()).hexdigest() == digest
    assert render_html(first) != render_html(dataclasses.replace(first, chair="Another Chair"))


def test_html_is_one_complete_self_contained_document() -> None:
    document = render_html(not_initiating())
    assert document.startswith('<!DOCTYPE html>\n<html lang="en-GB">')
    assert document.endswith("</html>\n")
    assert '<meta charset="utf-8">' in document and "<style>" in document
    assert "@media print" in document
    assert "http" not in document.lower().replace("http-equiv", "")  # no external resources


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: initiating(lead_reviewers=[]), "at least one lead reviewer"),
        (lambda: not_initiating(justification=[]), "justification"),
        (lambda: not_initiating(justification=["  "]), "justification"),
        (lambda: not_initiating(incident=None), "incident notification"),
        (lambda: not_initiating(initiating=True), "does not match the decision"),
        (lambda: initiating(initiating=False), "does not match the decision"),
        (lambda: not_initiating(decision="close_case"), "unknown decision"),
        (lambda: not_initiating(due=date(2015, 3, 31)), "due before the decision"),
    ],
)
def test_content_that_cannot_satisfy_t3_or_t4_is_refused(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_long_dates_do_not_depend_on_the_locale() -> None:
    assert long_date(date(2016, 2, 29)) == "29 February 2016"
