"""Sending one e-mail over SMTP: the outbox's delivery job (app.jobs) hands each due message here."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlparse

from cases.models import OutboxMessage


def smtp_send(url: str, sender: str, message: OutboxMessage) -> None:
    """Send one message through smtp://user:pass@host:port (?starttls=1) or smtps://."""
    parts = urlparse(url)
    host, port = parts.hostname or "localhost", parts.port or (465 if parts.scheme == "smtps" else 25)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, message.to, message.subject
    mail.set_content(message.body)
    smtp: smtplib.SMTP
    if parts.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(host, port, timeout=30, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=30)
    with smtp:
        if parse_qs(parts.query).get("starttls") == ["1"]:
            smtp.starttls(context=ssl.create_default_context())
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(mail)
