"""The audit timeline as text a person reads in a terminal (`lif audit case`): one block per entry."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any

from lif.clock import LONDON

Entry = dict[str, Any]


BUSINESS_DATES = (
    "decided_on",
    "closed_on",
    "published_on",
    "held_on",
    "opened_on",
    "started_on",
    "received_on",
    "shared_on",
    "responded_on",
    "referred_on",
    "appointed_on",
    "sent_on",
    "notified_on",
    "audited_on",
    "on",
)
"""Fields naming the business date an event happened on (the Chair decided, the review closed on ...)."""


def _when(value: str) -> str:
    moment = datetime.fromisoformat(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def business_date(e: Entry) -> str | None:
    """The business date of an event recorded for a date (its `occurred_at` is an instant made from that
    date: noon UTC, or midnight in London), else None. Shown instead of the instant, so a review closed on
    2015-08-12 does not read as 2015-08-11 23:00 UTC."""
    moment = datetime.fromisoformat(e["occurred_at"])
    local = moment.astimezone(LONDON)
    made_from_date = local.time() == time(0) or moment.astimezone(UTC).time() == time(12)
    if not made_from_date:
        return None
    day = local.date().isoformat()
    payload = e.get("payload") or {}
    for source in (e, payload):
        for name in BUSINESS_DATES:
            if source.get(name) == day:
                return day
    return None


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
    "panel_notice_sent": lambda e: (
        f"marked the notice {e['notice_id']} sent on {e['sent_on']} ({e['channel']})"
        if e["channel"] == "manual"
        else f"the notice {e['notice_id']} was delivered by {e['channel']} on {e['sent_on']}"
    ),
    "panel_notification": lambda e: (
        f"recorded the Child Safeguarding Practice Review Panel notified on {e['notified_on']} (due {e['due']})"
    ),
    "rapid_review": lambda e: f"recorded the rapid review held on {e['held_on']} (due {e['due']})",
    "learning_themes_tagged": lambda e: (
        f"tagged learning themes {', '.join(e['themes'])} ({e['typology']}@{e['typology_version']})"
    ),
}


def _p(e: Entry) -> dict[str, Any]:
    payload: dict[str, Any] = e.get("payload") or {}
    return payload


def _plan_started(e: Entry) -> str:
    p = _p(e)
    what = f"started the {p['method']} plan {p['plan_id']} ({p['regime']} {p['plan_version']}) on {p['started_on']}"
    if p.get("dropped_stages"):
        what += f"; stages dropped: {', '.join(p['dropped_stages'])}"
    return what


def _scalars(e: Entry) -> str:
    """Any other event: its name and its plain fields, so nothing is left out of an auditor's view."""
    fields = [f"{k}={v}" for k, v in _p(e).items() if isinstance(v, str | int | float | bool) or v is None]
    return f"{e['kind'].replace('_', ' ')}" + (f": {', '.join(fields)}" if fields else "")


def _stage(e: Entry, verb: str, on: str | None = None) -> str:
    p = _p(e)
    return f"{verb} stage {p['stage_id']}" + (f" {on} {p[on.split()[-1]]}" if on else "")


WHAT.update(
    {
        "incident_received": lambda e: (
            f"notification from {_p(e)['source_system']} ({_p(e)['notifying_agency']}) received: incident on "
            f"{_p(e)['incident_date']}, notified {_p(e)['notified_date']}; summary in the erasable store "
            f"{_p(e)['summary_ref']}"
        ),
        "review_process_opened": lambda e: (
            f"opened review process {_p(e)['review_id']} on {_p(e)['opened_on']} ({_p(e)['trigger'].replace('_', ' ')}"
            f"; {_p(e)['regime']})"
        ),
        "review_plan_started": _plan_started,
        "review_not_initiated": lambda e: (
            f"no review: {_p(e)['decision']} on {_p(e)['decided_on']} ended the plan {_p(e)['ended_plan']}"
        ),
        "stage_scheduled": lambda e: (
            f"scheduled stage {_p(e)['stage_id']} for {_p(e)['scheduled_for']} "
            f"({_p(e)['planned_duration']['amount']} {_p(e)['planned_duration']['unit'].replace('_', ' ')})"
        ),
        "stage_held": lambda e: f"stage {_p(e)['stage_id']} held on {_p(e)['held_on']}",
        "stage_outcome_recorded": lambda e: (
            f"outcome of stage {_p(e)['stage_id']}: {_p(e)['result'].replace('_', ' ')}, "
            f"{_p(e)['actions_agreed']} action(s), agencies present {', '.join(_p(e)['agencies_present']) or 'none'}"
        ),
        "stage_moved": lambda e: (
            f"moved stage {_p(e)['stage_id']} ({_p(e)['reason'].replace('_', ' ')}) from {_p(e)['previous_due']} "
            f"to {_p(e)['new_due']}"
        ),
        "member_added": lambda e: (
            f"added {_p(e)['member_id']} to the {_p(e)['group'].replace('_', ' ')} as "
            f"{_p(e)['role'].replace('_', ' ')}" + (f" ({_p(e)['agency']})" if _p(e).get("agency") else "")
        ),
        "member_removed": lambda e: (
            f"removed {_p(e)['member_id']} from the {_p(e)['group'].replace('_', ' ')} ({_p(e)['reason']})"
        ),
        "findings_shared": lambda e: f"shared findings version {_p(e)['version']} on {_p(e)['shared_on']}",
        "case_group_response_recorded": lambda e: (
            f"{_p(e)['member_id']} responded to findings version {_p(e)['findings_version']} on "
            f"{_p(e)['responded_on']}: {_p(e)['response'].replace('_', ' ')}"
        ),
        "chronology_entry_submitted": lambda e: (
            f"{_p(e)['agency']} chronology entry {_p(e)['entry_id']} (dated {_p(e)['event_date']}) submitted"
        ),
        "chronology_entry_corrected": lambda e: (
            f"{_p(e)['agency']} chronology entry {_p(e)['entry_id']} corrected (version {_p(e)['version']})"
        ),
        "final_report_recorded": lambda e: (
            f"final report version {_p(e)['version']} received on {_p(e)['received_on']}"
        ),
        "review_published": lambda e: f"review published on {_p(e)['published_on']}",
        "review_closed": lambda e: f"review closed on {_p(e)['closed_on']}",
    }
)

DOCUMENTS = (("rationale", "rationale"), ("reason", "reason"), ("note", "note"), ("document", "notice document"))


def _document(label: str, document: dict[str, Any], *, show_text: bool) -> list[str]:
    head = f"{label}: {document['status']} (document {document['document_id']})"
    if document["text"] is None or not show_text:
        return [head]
    return [head, *textwrap.indent(document["text"].rstrip(), "  | ").splitlines()]


def format_entry(number: int, e: Entry) -> str:
    day = business_date(e)
    when = _when(e["occurred_at"]) if day is None else f"{day} (business date)"
    lines = [f"[{number}] {when}  {e['kind']}"]
    body = [f"by {_actor(e['actor'])}"]
    if e["recorded_at"] != e["occurred_at"]:
        body.append(f"recorded {_when(e['recorded_at'])}")
    body.append(WHAT.get(e["kind"], _scalars)(e))
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
    services = sorted({e.get("service", "decisioning") for e in entries})
    head = (
        f"Audit timeline of case {timeline['case_id']} (board {timeline['lscb']}): {len(entries)} events "
        f"({', '.join(services) or 'none'})"
    )
    return "\n\n".join([head, *(format_entry(n, e) for n, e in enumerate(entries, start=1))]) + "\n"
