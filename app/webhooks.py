"""Sending webhooks: signed POSTs to the pinned address, the delivery job and the kick after a commit.

The domain (cases.webhooks) writes, claims and schedules deliveries; this module does the HTTP. Each
request re-checks its target against SSRF (cases.webhook_targets), connects to the one address it
resolved (TLS still verifies the certificate of the host name, sent as SNI), follows no redirect,
gives up after short timeouts and reads at most WEBHOOK_MAX_RESPONSE_BYTES of the answer.
Signatures are the Standard Webhooks scheme, made by its own library.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from standardwebhooks.webhooks import Webhook

from app.extensions import db
from app.jobs import Periodic, after_commit, enqueue, job
from case_types.errors import ValidationFailed
from cases import webhooks
from cases.models import WebhookDelivery
from cases.webhook_targets import Resolver, Target, check_target, system_resolver

log = logging.getLogger(__name__)
USER_AGENT = "Casework-Webhooks/1"


class _PinnedHTTP(http.client.HTTPConnection):
    """Plain HTTP to a fixed address; the Host header still names the URL's host."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """TLS to a fixed address, with SNI and certificate checks for the URL's host name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def signed_headers(claim: webhooks.Claim, at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt (a fresh timestamp each time)."""
    signature = Webhook(claim.secret).sign(claim.message_id, at, claim.payload)
    return {"webhook-id": claim.message_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature}


def send(claim: webhooks.Claim, *, allow: Any, resolve: Resolver = system_resolver, timeout: float = 5.0,
         max_bytes: int = 64 * 1024) -> webhooks.Outcome:
    """POST one claimed delivery; every problem becomes an Outcome (never an exception)."""
    started = time.monotonic()

    def outcome(status: int | None, error: str = "") -> webhooks.Outcome:
        return webhooks.Outcome(status, error, int((time.monotonic() - started) * 1000))

    try:
        target = check_target(claim.url, allow=allow, resolve=resolve)
    except ValidationFailed as exc:
        return outcome(None, f"Refused: {exc.message}")
    connection_class = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    connection = connection_class(target, timeout)
    headers = {**signed_headers(claim, datetime.now(UTC)), "Content-Type": "application/json",
               "User-Agent": USER_AGENT}
    try:
        connection.request("POST", target.path, body=claim.payload.encode(), headers=headers)
        response = connection.getresponse()
        response.read(max_bytes)  # drained up to the cap; the rest is never read
        status = response.status
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        return outcome(None, f"{exc.__class__.__name__}: {exc}")
    finally:
        connection.close()
    if 300 <= status < 400:
        return outcome(status, "Redirects are not followed; give the final URL.")
    return outcome(status, "" if 200 <= status < 300 else f"HTTP {status}")


def resolver(app: Flask) -> Resolver:
    """The DNS resolver (tests put a fixed one into WEBHOOK_RESOLVER)."""
    return app.config.get("WEBHOOK_RESOLVER") or system_resolver


def deliver_due(app: Flask, *, clock: Any = None, rounds: int = 50) -> int:
    """Claim and send due deliveries until none are left (or `rounds` batches); returns how many were sent."""
    clock = clock or (lambda: datetime.now(UTC))
    lease = timedelta(seconds=float(app.config["WEBHOOK_CLAIM_SECONDS"]))
    sent = 0
    for _ in range(rounds):
        claims = webhooks.claim_due(db.session, clock=clock, lease=lease)
        if not claims:
            break
        allow = webhooks.allow_list(db.session)
        db.session.rollback()  # no transaction stays open while we wait on receivers
        turned_off: set[int] = set()
        for claim in claims:
            if claim.subscription_id in turned_off:
                webhooks.release(db.session, claim)
                continue
            result = send(claim, allow=allow, resolve=resolver(app), timeout=float(app.config["WEBHOOK_TIMEOUT_S"]),
                          max_bytes=int(app.config["WEBHOOK_MAX_RESPONSE_BYTES"]))
            if not result.ok:
                log.warning("Webhook delivery %s (attempt %s) failed: %s", claim.message_id, claim.attempt,
                            result.error)
            delivery = webhooks.record(db.session, claim, result, clock=clock,
                                       disable_after=int(app.config["WEBHOOK_DISABLE_AFTER"]))
            if delivery is not None and not delivery.subscription.active:
                turned_off.add(claim.subscription_id)
            sent += result.ok
    return sent


@job("deliver_webhooks")
def deliver_webhooks() -> int:
    """Send the deliveries that are due (after a commit that wrote some, and periodically for retries)."""
    return deliver_due(current_app._get_current_object())  # type: ignore[attr-defined]


def init_webhooks(app: Flask) -> None:
    """Kick the delivery job after each commit that wrote deliveries (app.jobs dispatches)."""
    after_commit("webhooks", WebhookDelivery, kick=_kick_delivery)


def _kick_delivery(app: Flask, _deliveries: set[Any]) -> None:
    if app.config.get("WEBHOOKS_AUTO_DELIVER", True):
        enqueue(app, "deliver_webhooks")


def start_webhook_sweeper(app: Flask) -> Periodic | None:
    """Retries and left-over deliveries every WEBHOOK_SWEEP_INTERVAL seconds (0 turns the sweep off)."""
    interval = float(app.config["WEBHOOK_SWEEP_INTERVAL"])
    return Periodic(app, "deliver_webhooks", interval=interval).start() if interval > 0 else None


@click.group("webhooks")
def webhooks_group() -> None:
    """Webhook deliveries."""


@webhooks_group.command("deliver")
@with_appcontext
def deliver_command() -> None:
    """Send the webhook deliveries that are due now (the periodic sweep does this every 30 seconds)."""
    sent = deliver_due(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"{sent} webhook {'delivery' if sent == 1 else 'deliveries'} sent.")
