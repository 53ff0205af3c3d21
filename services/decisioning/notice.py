"""The notice to the National Panel of a Chair's decision on whether to initiate an SCR (rules.md T2-T4).

What it must say depends on the decision: not initiating (T3), the justification and the local
authority's incident notification; initiating (T4), the names of the independent lead reviewers. The
notice is rendered as a self-contained, printable HTML document (and as Markdown) that a person can read
and file. Rendering is pure and deterministic (no clock, no locale, facts in key order), so the same
content always gives the same bytes and the hash an event records stays checkable.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args
from uuid import UUID

from events.decisioning import DecisionKind

TITLE = "Notification to the National Panel of Independent Experts on Serious Case Reviews"
ERASED = "[erased]"
ContentRule = Literal["T3", "T4"]

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class NoticeIncident:
    """The incident notification as the board received it; `summary` is None once erased."""

    notifying_agency: str
    source_system: str
    incident_date: date
    notified_date: date
    child_age_years: int
    child_home_lscb: str
    facts: dict[str, object]
    summary: str | None


@dataclass(frozen=True)
class NoticeReviewer:
    name: str
    organisation: str


@dataclass(frozen=True)
class NoticeContent:
    """Everything a notice says. Raises `ValueError` when the content cannot satisfy T3 or T4."""

    notice_id: UUID
    board_code: str
    board_name: str
    case_id: UUID
    decision: DecisionKind
    decision_label: str
    decided_on: date
    due: date
    initiating: bool
    chair: str
    justification: list[str]
    incident: NoticeIncident | None
    lead_reviewers: list[NoticeReviewer]
    methodology: str | None
    rule_pack: str
    rule_pack_version: str

    def __post_init__(self) -> None:
        if self.decision not in get_args(DecisionKind):
            raise ValueError(f"unknown decision {self.decision!r}")
        if self.initiating != (self.decision == "initiate_scr"):
            raise ValueError(f"initiating={self.initiating} does not match the decision {self.decision!r}")
        if self.due < self.decided_on:
            raise ValueError("the notice cannot be due before the decision it reports")
        if self.initiating:
            if not self.lead_reviewers:
                raise ValueError("a notice of a decision to initiate an SCR names at least one lead reviewer (T4)")
        else:
            if not [line for line in self.justification if line.strip()]:
                raise ValueError("a notice of a decision not to initiate an SCR needs its justification (T3)")
            if self.incident is None:
                raise ValueError("a notice of a decision not to initiate an SCR carries the incident notification (T3)")

    @property
    def content_rule(self) -> ContentRule:
        """T4 when initiating (lead reviewers), T3 otherwise (justification and incident notification)."""
        return "T4" if self.initiating else "T3"


def long_date(day: date) -> str:
    """`2 March 2015`: readable, and independent of the process's locale."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _fact_value(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return long_date(value)
    return str(value).replace("_", " ")


def _decision_rows(content: NoticeContent) -> list[tuple[str, str]]:
    return [
        ("Local Safeguarding Children Board", f"{content.board_name} ({content.board_code})"),
        ("Case", str(content.case_id)),
        ("Decision", content.decision_label),
        ("Initiating a Serious Case Review", "yes" if content.initiating else "no"),
        ("Decided on", long_date(content.decided_on)),
        ("Decided by", f"{content.chair}, Independent Chair"),
    ]


def _incident_rows(incident: NoticeIncident) -> list[tuple[str, str]]:
    rows = [
        ("Notifying agency", _fact_value(incident.notifying_agency)),
        ("Source system", incident.source_system),
        ("Incident date", long_date(incident.incident_date)),
        ("Notified to the board", long_date(incident.notified_date)),
        ("Child's age (years)", str(incident.child_age_years)),
        ("Child's home board", incident.child_home_lscb),
    ]
    rows += [(_label(key), _fact_value(incident.facts[key])) for key in sorted(incident.facts)]
    return rows


def _methodology(content: NoticeContent) -> str:
    return content.methodology[:1].upper() + content.methodology[1:] if content.methodology else "not yet recorded"


def _footer(content: NoticeContent) -> list[tuple[str, str]]:
    return [
        ("Notice", str(content.notice_id)),
        ("Due to the National Panel by", long_date(content.due)),
        ("Content", f"{content.content_rule}: {_rule_text(content)}"),
        ("Rule pack", f"{content.rule_pack} {content.rule_pack_version}"),
    ]


def _rule_text(content: NoticeContent) -> str:
    if content.initiating:
        return "decision to initiate, with the names of the independent lead reviewers"
    return "decision not to initiate, with the justification and the incident notification"


# --- HTML ------------------------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 20mm; }
body { font-family: Arial, Helvetica, sans-serif; font-size: 11pt; line-height: 1.4; color: #111;
  max-width: 180mm; margin: 0 auto; padding: 12mm 0; }
h1 { font-size: 16pt; margin: 0 0 6mm; }
h2 { font-size: 13pt; margin: 8mm 0 3mm; border-bottom: 1px solid #999; padding-bottom: 1mm; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 1.5mm 2mm; border: 1px solid #bbb; }
th { width: 40%; background: #f2f2f2; font-weight: bold; }
.summary { white-space: pre-wrap; border-left: 3px solid #999; padding-left: 3mm; }
footer { margin-top: 10mm; font-size: 9pt; color: #333; }
footer table th, footer table td { border: none; padding: 0.5mm 2mm 0.5mm 0; }
@media print { body { padding: 0; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
""".strip()


def _e(value: str) -> str:
    return html.escape(value, quote=True)


def _html_table(rows: list[tuple[str, str]], header: tuple[str, str] | None = None) -> list[str]:
    lines = ["<table>"]
    if header is not None:
        lines.append(f"<thead><tr><th>{_e(header[0])}</th><th>{_e(header[1])}</th></tr></thead>")
    lines.append("<tbody>")
    if header is not None:
        lines += [f"<tr><td>{_e(a)}</td><td>{_e(b)}</td></tr>" for a, b in rows]
    else:
        lines += [f'<tr><th scope="row">{_e(a)}</th><td>{_e(b)}</td></tr>' for a, b in rows]
    lines.append("</tbody></table>")
    return lines


def render_html(content: NoticeContent) -> str:
    """The notice as one printable HTML5 document with its CSS inline; every value is escaped."""
    body = [f"<h1>{_e(TITLE)}</h1>", "<section>", "<h2>The decision</h2>", *_html_table(_decision_rows(content))]
    body.append("</section>")
    if content.initiating:
        body += ["<section>", "<h2>Lead reviewers</h2>"]
        reviewers = [(r.name, r.organisation) for r in content.lead_reviewers]
        body += _html_table(reviewers, header=("Name", "Organisation"))
        body += ["<h2>Methodology</h2>", f"<p>{_e(_methodology(content))}</p>", "</section>"]
    else:
        assert content.incident is not None  # checked when the content was made
        body += ["<section>", "<h2>Justification</h2>"]
        body += [f"<p>{_e(line)}</p>" for line in content.justification if line.strip()]
        body += ["</section>", "<section>", "<h2>The incident notification</h2>"]
        body += _html_table(_incident_rows(content.incident))
        summary = content.incident.summary
        body.append("<h3>Summary</h3>")
        body.append(f'<p class="summary">{_e(ERASED if summary is None else summary)}</p>')
        body.append("</section>")
    body += ["<footer>", *_html_table(_footer(content)), "</footer>"]
    head = [
        "<!DOCTYPE html>",
        '<html lang="en-GB">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(TITLE)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
    ]
    return "\n".join([*head, *body, "</body>", "</html>"]) + "\n"


# --- Markdown --------------------------------------------------------------------------------------------

_MD_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        "\\": "\\\\",
        "`": "\\`",
        "*": "\\*",
        "_": "\\_",
        "[": "\\[",
        "]": "\\]",
        "|": "\\|",
        "#": "\\#",
        "~": "\\~",
    }
)


def _md(value: str) -> str:
    """Inline Markdown text: no markup, no raw HTML, and one line (so it fits a table cell)."""
    return " ".join(value.split()).translate(_MD_ESCAPES)


def _md_block(value: str) -> str:
    """A paragraph of Markdown text that cannot start a list, heading, quote or rule either."""
    text = _md(value)
    ordered = re.match(r"^(\d+)([.)])", text)
    if ordered is not None:
        return f"{ordered.group(1)}\\{ordered.group(2)}{text[ordered.end() :]}"
    if text[:1] in ("-", "+", "="):
        return "\\" + text
    return text


def _md_quote(summary: str | None) -> str:
    """The summary as a block quote, one quoted paragraph per line of text."""
    paragraphs = [ERASED] if summary is None else [line for line in summary.splitlines() if line.strip()]
    return "\n>\n".join("> " + _md_block(p) for p in paragraphs) if paragraphs else "> " + _md("(empty)")


def _md_table(rows: list[tuple[str, str]], header: tuple[str, str] = ("Item", "Detail")) -> list[str]:
    lines = [f"| {_md(header[0])} | {_md(header[1])} |", "|---|---|"]
    lines += [f"| {_md(a)} | {_md(b)} |" for a, b in rows]
    return lines


def render_markdown(content: NoticeContent) -> str:
    """The same notice as Markdown, escaped so that no value becomes markup."""
    lines = [f"# {TITLE}", "", "## The decision", "", *_md_table(_decision_rows(content)), ""]
    if content.initiating:
        reviewers = [(r.name, r.organisation) for r in content.lead_reviewers]
        lines += ["## Lead reviewers", "", *_md_table(reviewers, ("Name", "Organisation")), ""]
        lines += ["## Methodology", "", _md(_methodology(content)), ""]
    else:
        assert content.incident is not None  # checked when the content was made
        lines += ["## Justification", ""]
        for line in content.justification:
            if line.strip():
                lines += [_md_block(line), ""]
        lines += ["## The incident notification", "", *_md_table(_incident_rows(content.incident))]
        lines += ["", "### Summary", "", _md_quote(content.incident.summary)]
        lines.append("")
    lines += ["---", "", *_md_table(_footer(content))]
    return "\n".join(lines) + "\n"
