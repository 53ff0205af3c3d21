"""Outbound messages without a database: deterministic keys, templates, the retry schedule."""

from __future__ import annotations

from uuid import UUID

import pytest
from jinja2 import UndefinedError

from events.registry import parse_event
from lif.settings import OutboundSettings
from services.notifications.channels.email import build_email, message_id_for
from services.notifications.channels.rendering import render
from services.notifications.directory import Target
from services.notifications.keys import idempotency_key, message_id
from services.notifications.outbound import Attachment, OutboundMessage, Recipient
from services.notifications.outbox.dispatch import RetryPolicy
from services.notifications.outbox.messages import timer_messages
from tests.timer_events import timer_event

CASE = UUID("7a1e2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b")


def test_the_same_timer_event_and_recipient_always_make_the_same_message() -> None:
    event = parse_event(timer_event(case_id=CASE))
    targets = [Target("role:chair", "inbox"), Target("rcp-1", "email")]
    first = timer_messages(event, targets)  # type: ignore[arg-type]
    again = timer_messages(event, targets)  # type: ignore[arg-type]
    assert [m["payload"]["message_id"] for m in first] == [m["payload"]["message_id"] for m in again]
    assert [m["event_id"] for m in first] == [m["event_id"] for m in again]
    key = idempotency_key(str(event.event_id), "rcp-1", "email")
    assert first[1]["payload"]["idempotency_key"] == key and first[1]["payload"]["message_id"] == str(message_id(key))
    other = timer_messages(parse_event(timer_event(case_id=CASE, step_id="before_1d")), targets)  # type: ignore[arg-type]
    assert {m["payload"]["message_id"] for m in other}.isdisjoint({m["payload"]["message_id"] for m in first})


def test_an_email_has_both_bodies_the_attachment_and_a_message_id_from_its_key() -> None:
    message = OutboundMessage(
        idempotency_key="k-1",
        lscb="BOL",
        recipient_id="rcp-1",
        channel="email",
        template="breach_escalation",
        context={"lscb": "BOL", "case_id": "c-1", "obligation_id": "o-1", "kind": "T2", "due": "2015-04-01",
                 "step_id": "breach_1d", "rule_pack": "nwlif-2015@1", "link": "https://lif.example/v1/cases/c-1"},
        attachments=(Attachment("a.pdf", "application/pdf", b"%PDF-1.7 x"),),
    )
    settings = OutboundSettings(mail_from="LIF <lif@bolton.test>", message_id_domain="bolton.test")
    mail = build_email(message, Recipient("rcp-1", "BOL", "email", "Pat <Chair>", "pat@bolton.test"), settings)
    assert mail["Message-ID"] == message_id_for("k-1", "bolton.test") == message_id_for("k-1", "bolton.test")
    assert mail["Message-ID"] != message_id_for("k-2", "bolton.test")
    assert mail["Subject"] == "LIF escalation: T2 was due 2015-04-01 and is still open (case c-1)"
    assert "still open" in mail.get_body(("plain",)).get_content()
    assert "<strong>still open</strong>" in mail.get_body(("html",)).get_content()
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "a.pdf" and attachment.get_content() == b"%PDF-1.7 x"


def test_html_is_escaped_and_a_missing_value_is_an_error() -> None:
    texts = render("reminder", {"lscb": "BOL", "obligation_id": "o", "kind": "<b>T1</b>", "due": "2015-04-10",
                                "step_id": "s", "rule_pack": "p"})
    assert "&lt;b&gt;T1&lt;/b&gt;" in texts.html and "<b>T1</b>" in texts.text
    with pytest.raises(UndefinedError):
        render("reminder", {"lscb": "BOL"})


def test_retries_back_off_exponentially_up_to_a_ceiling() -> None:
    policy = RetryPolicy(attempts=6, first_delay=2.0, ceiling=10.0)
    assert [policy.delay(n) for n in range(1, 6)] == [2.0, 4.0, 8.0, 10.0, 10.0]
