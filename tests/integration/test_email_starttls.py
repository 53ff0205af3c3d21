"""Email over a real SMTP server that requires STARTTLS and authentication, as a production relay does.

The server (aiosmtpd) has a self-signed certificate the client is told to trust (`LIF_SMTP_CA_FILE`),
refuses AUTH before TLS, and accepts only the credentials from the settings; wrong credentials are a
permanent failure, an unreachable relay one that may pass.
"""

from __future__ import annotations

import email
import ssl
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from lif.infra.debian_packages import ensure_binary
from lif.settings import OutboundSettings
from services.notifications.channels.email import EmailChannel, message_id_for
from services.notifications.outbound import OutboundMessage, Recipient
from tests.mailbox import free_port

pytestmark = [pytest.mark.integration]
USER, PASSWORD = "lif-relay", "relay-secret-123"


class Received:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.tls: list[bool] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.tls.append(session.ssl is not None)
        return "250 OK"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[tuple[Received, int, Path]]:
    openssl = ensure_binary("openssl", ["openssl"])
    cert, key = tmp_path / "relay.pem", tmp_path / "relay.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    received = Received()
    port = free_port()
    controller = Controller(
        received, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
        authenticator=authenticate, auth_required=True, auth_require_tls=True,
    )
    controller.start()
    try:
        yield received, port, cert
    finally:
        controller.stop()


def settings(port: int, cert: Path, password: str = PASSWORD) -> OutboundSettings:
    return OutboundSettings(
        smtp_host="127.0.0.1", smtp_port=port, smtp_username=USER, smtp_password=password, smtp_starttls=True,
        smtp_ca_file=str(cert), mail_from="LIF <lif@bolton.test>", message_id_domain="lif.tls.test",
    )


MESSAGE = OutboundMessage(
    idempotency_key="3f0c8f59-0000-4000-8000-000000000001:rcp-abc:email",
    lscb="BOL",
    recipient_id="rcp-abc",
    channel="email",
    template="reminder",
    context={"lscb": "BOL", "case_id": "c1", "obligation_id": "o1", "kind": "T1", "due": "2015-04-10",
             "step_id": "before_1d", "fired_for": "2015-04-09", "rule_pack": "nwlif-2015@1"},
)
RECIPIENT = Recipient("rcp-abc", "BOL", "email", "Pat Chair", "pat.chair@bolton.test")


async def test_mail_goes_over_starttls_with_the_configured_credentials(relay: tuple[Received, int, Path]) -> None:
    received, port, cert = relay
    outcome = await EmailChannel(settings(port, cert)).send(MESSAGE, RECIPIENT)
    assert outcome.delivered, outcome.reason
    assert received.tls == [True]
    [mail] = received.messages
    assert mail["Message-ID"] == message_id_for(MESSAGE.idempotency_key, "lif.tls.test")
    assert outcome.detail["message_id"] == mail["Message-ID"]
    assert "T1 is due on 2015-04-10" in mail.get_body(("plain",)).get_content()
    # the same message again has the same Message-ID, so the receiver can drop the repeat
    again = await EmailChannel(settings(port, cert)).send(MESSAGE, RECIPIENT)
    assert again.delivered and received.messages[1]["Message-ID"] == mail["Message-ID"]


async def test_wrong_credentials_are_permanent_and_an_unreachable_relay_may_pass(
    relay: tuple[Received, int, Path],
) -> None:
    received, port, cert = relay
    refused = await EmailChannel(settings(port, cert, password="wrong")).send(MESSAGE, RECIPIENT)
    assert not refused.delivered and refused.permanent and refused.reason.startswith("SMTP 535")
    unreachable = await EmailChannel(settings(free_port(), cert)).send(MESSAGE, RECIPIENT)
    assert not unreachable.delivered and not unreachable.permanent and "unreachable" in unreachable.reason
    untrusted = OutboundSettings(**{**settings(port, cert).__dict__, "smtp_ca_file": None})
    not_trusted = await EmailChannel(untrusted).send(MESSAGE, RECIPIENT)
    assert not not_trusted.delivered  # a self-signed certificate nobody said to trust is refused
    assert received.messages == []
