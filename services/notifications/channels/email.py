"""Email over SMTP (STARTTLS, credentials from settings): plain text and HTML, Message-ID from the key.

The Message-ID is derived from the message's idempotency key, so a message sent twice (the window
between the server accepting it and LIF recording that) reaches the receiver with the same Message-ID
and can be dropped as a duplicate. A 5xx reply (address refused) is permanent; a 4xx reply, a lost
connection or a timeout may pass.
"""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.utils import formataddr, formatdate

import aiosmtplib

from lif.settings import OutboundSettings
from services.notifications.channels.rendering import render
from services.notifications.outbound import ChannelName, DeliveryOutcome, OutboundMessage, Recipient

MESSAGE_ID_NAMESPACE = uuid.UUID("5d0b6a2e-8c1f-4f3a-9e7b-2a6c4d8e1f03")


def message_id_for(idempotency_key: str, domain: str) -> str:
    """The Message-ID header of a message: the same key always gives the same id."""
    return f"<{uuid.uuid5(MESSAGE_ID_NAMESPACE, idempotency_key)}@{domain}>"


def build_email(message: OutboundMessage, recipient: Recipient, settings: OutboundSettings) -> EmailMessage:
    texts = render(message.template, message.context)
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = formataddr((recipient.display_name, recipient.address))
    email["Subject"] = texts.subject
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = message_id_for(message.idempotency_key, settings.message_id_domain)
    email["X-LIF-Idempotency-Key"] = message.idempotency_key
    email.set_content(texts.text)
    email.add_alternative(texts.html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return email


class EmailChannel:
    name: ChannelName = "email"

    def __init__(self, settings: OutboundSettings) -> None:
        self.settings = settings

    async def send(self, message: OutboundMessage, recipient: Recipient) -> DeliveryOutcome:
        s = self.settings
        if not s.smtp_host:
            return DeliveryOutcome(False, permanent=False, reason="no SMTP relay is configured (LIF_SMTP_HOST)")
        email = build_email(message, recipient, s)
        message_id = str(email["Message-ID"])
        try:
            _, reply = await aiosmtplib.send(
                email,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password,
                start_tls=s.smtp_starttls,
                use_tls=False,
                cert_bundle=s.smtp_ca_file,
                timeout=s.smtp_timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = ", ".join(f"{error.code}" for error in exc.recipients)
            permanent = all(error.code >= 500 for error in exc.recipients)
            return DeliveryOutcome(False, permanent=permanent, reason=f"SMTP recipient refused ({codes})")
        except aiosmtplib.SMTPResponseException as exc:
            return DeliveryOutcome(
                False, permanent=exc.code >= 500, reason=f"SMTP {exc.code} {exc.message[:200]}"
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return DeliveryOutcome(False, permanent=False, reason=f"SMTP unreachable: {type(exc).__name__}")
        return DeliveryOutcome(True, detail={"message_id": message_id, "smtp_reply": reply[:200]})
