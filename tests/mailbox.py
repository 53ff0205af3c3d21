"""A real SMTP server in the test process (aiosmtpd), and a real HTTP receiver of signed webhooks.

The mailbox keeps every message it accepted, parsed; the webhook receiver verifies every request's
signature with the `standardwebhooks` package, as a receiving system would, before it answers.
"""

from __future__ import annotations

import email
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)
    on_message: Callable[[EmailMessage], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        if self.on_message is not None:
            self.on_message(message)
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server on 127.0.0.1 (a free port), and what it received."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@dataclass
class WebhookReceiver:
    secret: str
    answers: list[int] = field(default_factory=list)
    """Status codes to answer, in order (then 204 for ever)."""
    received: list[dict[str, Any]] = field(default_factory=list)
    refused_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""


@contextmanager
def webhook_receiver(secret: str, answers: list[int] | None = None) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(secret, list(answers or []))
    verifier = Webhook(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {key.lower(): value for key, value in self.headers.items()}
            try:
                verifier.verify(body, headers)
            except WebhookVerificationError:
                with receiver.lock:
                    receiver.refused_signatures += 1
                self.send_response(401)
                self.end_headers()
                return
            with receiver.lock:
                status = receiver.answers.pop(0) if receiver.answers else 204
                receiver.received.append({"headers": headers, "body": json.loads(body), "status": status})
            self.send_response(status)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/lif-hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
