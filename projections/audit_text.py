"""The audit timeline as text a person reads in a terminal (`lif audit case`): one block per entry."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import datetime
from typing import Any

Entry = dict[str, Any]


def _when(value: str) -> str:
    moment = datetime.fromisoformat(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _actor(actor: dict[str, Any]) -> str:
    role = f" ({actor['role']})" if actor.get("role") else ""
    return f"{actor['kind']} {actor['id']}{role}"


def _recommendation(e: Entry) -> str:
    what = f"recommended {e['review_type']}"
    if e.get("statutory_scr"):
        what += " (statutory SCR test holds)"
    if e.get("methodology_hint"):
        what += f", methodology hint {e['methodology_hint']}"
    if e.get("repeat_learning"):
        earlier = ", ".join(e["repeat_learning"]["earlier_reviews"])
        what += f"; learning already identified in {earlier}"
    return what


def _decision(e: Entry) -> str:
    seen = e["recommendation_seen"]["review_type"]
    stance = f"departs from the recommendation ({seen})" if e["departs_from_recommendation"] else f"agrees with {seen}"
    what = f"Chair decided {e['decision']} on {e['decided_on']}, {stance}"
    if e.get("scr_route"):
        what += f"; {e['scr_route']} SCR"
    if e.get("methodology"):
        what += f", {e['methodology']['methodology']}"
    if e.get("forum_theme"):
        what += f"; forum theme {e['forum_theme']}"
    if e.get("supersedes"):
        what += f"; supersedes decision {e['supersedes']}"
    return what


def _notice_prepared(e: Entry) -> str:
    outcome = "initiating" if e["initiating"] else "not initiating"
    return (
        f"prepared the National Panel notice {e['notice_id']} ({e['content_rule']}, {outcome}) "
        f"for decision {e['decision_event_id']}, due {e['due']}"
    )


WHAT: dict[str, Callable[[Entry], str]] = {
    "recommendation": _recommendation,
    "decision": _decision,
    "scr_panel_referral": lambda e: f"referred the case to the SCR panel on {e['referred_on']}",
    "discretionary_input": lambda e: (
        f"recorded {e['input'].replace('_', ' ')} held on {e['held_on']}: "
        f"{'supports' if e['supports_scr'] else 'does not support'} an SCR"
    ),
    "lead_reviewer_appointed": lambda e: (
        f"appointed lead reviewer {e['reviewer_id']} on {e['appointed_on']} to the review of decision "
        f"{e['decision_event_id']} ({e['review']}; {e['independence']})"
    ),
    "panel_notice_prepared": _notice_prepared,
    "panel_notice_sent": lambda e: f"marked the notice {e['notice_id']} sent on {e['sent_on']} ({e['channel']})",
    "learning_themes_tagged": lambda e: (
        f"tagged learning themes {', '.join(e['themes'])} ({e['typology']}@{e['typology_version']})"
    ),
}

DOCUMENTS = (("rationale", "rationale"), ("reason", "reason"), ("note", "note"), ("document", "notice document"))


def _document(label: str, document: dict[str, Any], *, show_text: bool) -> list[str]:
    head = f"{label}: {document['status']} (document {document['document_id']})"
    if document["text"] is None or not show_text:
        return [head]
    return [head, *textwrap.indent(document["text"].rstrip(), "  | ").splitlines()]


def format_entry(number: int, e: Entry) -> str:
    lines = [f"[{number}] {_when(e['occurred_at'])}  {e['kind']}"]
    body = [f"by {_actor(e['actor'])}"]
    if e["recorded_at"] != e["occurred_at"]:
        body.append(f"recorded {_when(e['recorded_at'])}")
    body.append(WHAT.get(e["kind"], lambda entry: entry["event_type"])(e))
    if e.get("rule_pack"):
        rules = ", ".join(e["rules_fired"]) or "none"
        body.append(f"rule pack {e['rule_pack']}@{e['rule_pack_version']}; rules {rules}")
    if e.get("facts"):
        body.append("facts: " + ", ".join(f"{name}={value}" for name, value in e["facts"].items()))
    if e.get("deadlines"):
        body.append("deadlines: " + ", ".join(f"{name} {due}" for name, due in e["deadlines"].items()))
    body.extend(f"- {reason}" for reason in e.get("reasons") or [])
    for key, label in DOCUMENTS:
        if e.get(key):
            body.extend(_document(label, e[key], show_text=key != "document"))
    lines.extend(textwrap.indent(line, "    ") for line in body)
    return "\n".join(lines)


def format_timeline(timeline: dict[str, Any]) -> str:
    entries = timeline["entries"]
    head = f"Audit timeline of case {timeline['case_id']} (board {timeline['lscb']}): {len(entries)} decisioning events"
    return "\n\n".join([head, *(format_entry(n, e) for n, e in enumerate(entries, start=1))]) + "\n"
