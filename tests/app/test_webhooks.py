"""Webhooks against a real local receiver: signatures, retries, commits only, crashes, SSRF refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.extensions import db
from app.webhooks import deliver_due
from case_types.errors import Conflict, ValidationFailed
from cases import accounts, automation, webhooks
from cases.models import OutboxMessage, WebhookAttempt, WebhookDelivery, WebhookSubscription
from cases.webhook_targets import system_resolver
from tests.app.webhook_receiver import receiver
from tests.conftest import Web
from tests.support.complaint import GOOD
from tests.support.web import token_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hooks(complaint_app: Any) -> Any:
    complaint_app.config["WEBHOOKS_AUTO_DELIVER"] = False
    client = complaint_app.test_client()
    tokens = {who: token_for(complaint_app, f"{who}@example.com") for who in ("admin", "agent", "requester")}
    return complaint_app, client, tokens


def subscribe(app: Any, url: str, kinds: list[str], *, allow: str = "127.0.0.1/32", **kw: Any) -> tuple[int, str]:
    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        assert admin is not None
        webhooks.set_allow_list(db.session, allow, admin)
        sub, secret = webhooks.create_subscription(db.session, url=url, kinds=kinds, actor=admin, **kw)
        return sub.id, secret


def file_case(client: Any, tokens: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/case-types/complaint/cases", json={"data": GOOD}, headers=tokens["requester"])
    assert response.status_code == 201, response.json
    return dict(response.json)


def deliver(app: Any, at: datetime | None = None) -> int:
    with app.app_context():
        try:
            return deliver_due(app, clock=(lambda: at) if at else None)
        finally:
            db.session.remove()


def test_deliveries_are_signed_per_standard_webhooks(hooks: Any) -> None:
    app, client, tokens = hooks
    with receiver() as rx:
        _sub, secret = subscribe(app, rx.url, ["case.filed", "case.assigned"])
        assert secret.startswith("whsec_")
        case = file_case(client, tokens)
        client.post(f"/api/v1/cases/{case['id']}/claim", headers=tokens["agent"])
        assert deliver(app) == 2
        assert len(rx.requests) == 2
        bodies = []
        for request in rx.requests:
            assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(request.headers)
            assert request.headers["webhook-signature"].startswith("v1,")
            bodies.append(Webhook(secret).verify(request.body, request.headers))  # raises if the signature is wrong
        assert [b["type"] for b in bodies] == ["case.filed", "case.assigned"]
        assert bodies[0]["data"]["case"]["ref"] == case["ref"]
        assert bodies[1]["data"]["case"]["assignee"] == "agent@example.com"
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(rx.requests[0].body + b" ", rx.requests[0].headers)


def test_a_receiver_failing_twice_gets_the_event_three_times_with_one_id(hooks: Any) -> None:
    app, client, tokens = hooks
    with receiver(statuses=[500, 503]) as rx:
        sub_id, secret = subscribe(app, rx.url, ["case.filed"])
        file_case(client, tokens)
        now = datetime.now(UTC)
        assert deliver(app, now) == 0
        assert deliver(app, now + timedelta(seconds=5)) == 0  # not due yet: backoff
        assert len(rx.requests) == 1
        assert deliver(app, now + timedelta(seconds=31)) == 0
        assert deliver(app, now + timedelta(seconds=31 + 61)) == 1
        assert len(rx.requests) == 3
        ids = {r.headers["webhook-id"] for r in rx.requests}
        assert len(ids) == 1
        for request in rx.requests:
            Webhook(secret).verify(request.body, request.headers)
        with app.app_context():
            delivery = db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub_id))
            assert delivery is not None and delivery.status == "delivered" and delivery.attempts == 3
            codes = [a.status_code for a in webhooks.attempts_of(db.session, delivery)]
            assert codes == [500, 503, 200]
            assert db.session.get(WebhookSubscription, sub_id).consecutive_failures == 0  # type: ignore[union-attr]


def test_only_committed_changes_are_announced(hooks: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app, client, tokens = hooks
    with receiver() as rx:
        subscribe(app, rx.url, ["case.transitioned"])
        case = file_case(client, tokens)
        client.post(f"/api/v1/cases/{case['id']}/claim", headers=tokens["agent"])
        real_run_rules = automation.run_rules

        def failing_rules(*args: Any, **kwargs: Any) -> None:
            if kwargs.get("transition") == "start":  # after the transition's audit event was written
                raise Conflict("The rules engine is unavailable.")
            return real_run_rules(*args, **kwargs)

        monkeypatch.setattr(automation, "run_rules", failing_rules)
        refused = client.post(f"/api/v1/cases/{case['id']}/transitions", json={"transition": "start"},
                              headers=tokens["agent"])
        assert refused.status_code == 409
        assert deliver(app) == 0 and rx.requests == []
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
        monkeypatch.setattr(automation, "run_rules", real_run_rules)
        ok = client.post(f"/api/v1/cases/{case['id']}/transitions", json={"transition": "start"},
                         headers=tokens["agent"])
        assert ok.status_code == 200
        assert deliver(app) == 1
        assert [json.loads(r.body)["data"]["event"]["payload"]["to"] for r in rx.requests] == ["in_progress"]


def test_closing_fires_transitioned_and_closed(hooks: Any) -> None:
    app, client, tokens = hooks
    with receiver() as rx:
        subscribe(app, rx.url, ["case.closed", "case.commented"])
        case = file_case(client, tokens)
        client.post(f"/api/v1/cases/{case['id']}/claim", headers=tokens["agent"])
        client.post(f"/api/v1/cases/{case['id']}/transitions", json={"transition": "start"}, headers=tokens["agent"])
        client.post(f"/api/v1/cases/{case['id']}/comments", json={"body": "On it"}, headers=tokens["agent"])
        done = client.post(f"/api/v1/cases/{case['id']}/transitions",
                           json={"transition": "resolve", "comment": "Refunded"}, headers=tokens["agent"])
        assert done.status_code == 200
        deliver(app)
        assert [json.loads(r.body)["type"] for r in rx.requests] == ["case.commented", "case.closed"]


def test_a_worker_killed_mid_delivery_loses_nothing(hooks: Any, tmp_path: Path) -> None:
    app, client, tokens = hooks
    with receiver(hang_first=True) as rx:
        subscribe(app, rx.url, ["case.filed"])
        file_case(client, tokens)
        env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "CASEWORK_INSTANCE": str(tmp_path),
               "SECRET_KEY": "test-secret-key-of-sufficient-length"}
        env.pop("REDIS_URL", None)
        worker = subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()", "webhooks", "deliver"],
                                  cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            assert rx.got_one.wait(60), "the worker never sent the delivery"
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        assert worker.returncode == -signal.SIGKILL
        with app.app_context():
            delivery = db.session.scalar(select(WebhookDelivery))
            assert delivery is not None and delivery.status == "pending" and delivery.attempts == 1
            assert delivery.claimed_until is not None
            claimed_until = delivery.claimed_until
            db.session.remove()
        assert deliver(app) == 0  # the dead worker's claim still holds
        assert deliver(app, claimed_until + timedelta(seconds=1)) == 1  # expired: the next sweep takes it over
        assert len(rx.requests) == 2
        assert rx.requests[0].headers["webhook-id"] == rx.requests[1].headers["webhook-id"]
        with app.app_context():
            delivery = db.session.scalar(select(WebhookDelivery))
            assert delivery is not None and delivery.status == "delivered" and delivery.attempts == 2


def test_private_targets_are_refused_unless_allowed(hooks: Any) -> None:
    app, _client, _tokens = hooks
    resolved: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        resolved.append(host)
        fixed = {"hooks.internal.test": ["10.0.0.1"], "mixed.example.test": ["93.184.215.14", "192.168.1.5"],
                 "public.example.test": ["93.184.215.14"]}
        return fixed[host] if host in fixed else system_resolver(host, port)  # localhost: the real resolver

    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        assert admin is not None

        def create(url: str) -> Any:
            return webhooks.create_subscription(db.session, url=url, kinds=["case.filed"], actor=admin,
                                                resolve=resolver)

        for url in ("http://127.0.0.1/hook", "http://localhost:8080/hook", "http://10.0.0.1/hook",
                    "http://hooks.internal.test/hook", "http://mixed.example.test/", "http://[::1]/",
                    "http://169.254.169.254/latest/meta-data", "http://0.0.0.0/", "http://224.0.0.1/",
                    "http://[::ffff:127.0.0.1]/", "ftp://public.example.test/", "http://user:pw@public.example.test/"):
            with pytest.raises(ValidationFailed) as refused:
                create(url)
            assert "url" in refused.value.fields, url
        assert "hooks.internal.test" in resolved
        sub, _secret = create("https://public.example.test/hook")
        assert sub.url == "https://public.example.test/hook"
        webhooks.set_allow_list(db.session, "127.0.0.1/32\nhooks.internal.test", admin)
        create("http://127.0.0.1/hook")
        create("http://hooks.internal.test/hook")
        with pytest.raises(ValidationFailed):
            create("http://10.0.0.1/hook")  # the host name was allowed, not the network
        with pytest.raises(ValidationFailed):
            webhooks.set_allow_list(db.session, "not a host!", admin)


def test_the_target_is_checked_again_when_sending(hooks: Any) -> None:
    app, client, tokens = hooks
    with receiver() as rx:
        sub_id, _secret = subscribe(app, rx.url, ["case.filed"])
        with app.app_context():
            admin = accounts.find_user(db.session, "admin@example.com")
            webhooks.set_allow_list(db.session, "", admin)  # type: ignore[arg-type]
        file_case(client, tokens)
        assert deliver(app) == 0
        assert rx.requests == []
        with app.app_context():
            delivery = db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub_id))
            assert delivery is not None and delivery.status == "pending"
            assert "Refused" in delivery.last_error and delivery.last_status_code is None


def test_redirects_are_not_followed(hooks: Any) -> None:
    app, client, tokens = hooks
    with receiver(statuses=[302]) as rx:
        rx.location = rx.url + "/elsewhere"
        subscribe(app, rx.url, ["case.filed"])
        file_case(client, tokens)
        assert deliver(app) == 0
        assert len(rx.requests) == 1
        with app.app_context():
            delivery = db.session.scalar(select(WebhookDelivery))
            assert delivery is not None and delivery.last_status_code == 302
            assert "Redirects are not followed" in delivery.last_error


def test_a_subscription_failing_again_and_again_is_turned_off_and_admins_hear(hooks: Any) -> None:
    app, client, tokens = hooks
    app.config["WEBHOOK_DISABLE_AFTER"] = 2
    with receiver(statuses=[500] * 10) as rx:
        sub_id, _secret = subscribe(app, rx.url, ["case.filed"])
        file_case(client, tokens)
        file_case(client, tokens)
        file_case(client, tokens)
        deliver(app)
        assert len(rx.requests) == 2  # the third is not sent: the subscription was turned off
        with app.app_context():
            sub = db.session.get(WebhookSubscription, sub_id)
            assert sub is not None and not sub.active and "2 failed deliveries" in sub.disabled_reason
            mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "webhook.disabled")).all()
            assert [m.to for m in mail] == ["admin@example.com"]
        assert deliver(app, datetime.now(UTC) + timedelta(hours=1)) == 0
        assert len(rx.requests) == 2


def test_retries_stop_after_a_day(hooks: Any) -> None:
    app, client, tokens = hooks
    app.config["WEBHOOK_DISABLE_AFTER"] = 1000
    schedule = webhooks.retry_schedule()
    assert schedule[0] == timedelta(seconds=30) and schedule[1] == timedelta(minutes=1)
    assert sum(schedule, timedelta()) <= timedelta(days=1)
    with receiver(statuses=[500] * 100) as rx:
        subscribe(app, rx.url, ["case.filed"])
        file_case(client, tokens)
        at = datetime.now(UTC)
        deliver(app, at)
        for delay in schedule:
            at += delay + timedelta(seconds=1)
            deliver(app, at)
        deliver(app, at + timedelta(days=2))
        with app.app_context():
            delivery = db.session.scalar(select(WebhookDelivery))
            assert delivery is not None and delivery.status == "failed"
            assert len(rx.requests) == delivery.attempts == len(schedule) + 1
            assert db.session.scalar(select(func.count()).select_from(WebhookAttempt)) == delivery.attempts


def test_delivered_after_commit_by_the_job_queue(complaint_app: Any) -> None:
    """The embedded default: the commit that wrote deliveries kicks the thread pool's delivery job."""
    client = complaint_app.test_client()
    tokens = {"requester": token_for(complaint_app, "requester@example.com")}
    with receiver() as rx:
        _sub, secret = subscribe(complaint_app, rx.url, ["case.filed"])
        case = file_case(client, tokens)
        rx.wait_for(1)
        body = Webhook(secret).verify(rx.requests[0].body, rx.requests[0].headers)
        assert body["data"]["case"]["id"] == case["id"]


def test_admin_pages_subscribe_show_the_secret_once_and_redeliver(hooks: Any) -> None:
    app, client, tokens = hooks
    web = Web(client)
    web.login("agent@example.com")
    assert web.get("/admin/webhooks").status_code == 403
    web.logout()
    web.login("admin@example.com")
    with receiver() as rx:
        page = web.get("/admin/webhooks")
        assert page.status_code == 200 and "New subscription" in page.get_data(as_text=True)
        refused = web.post("/admin/webhooks", {"url": rx.url, "kinds": ["case.filed"], "case_type": ""}, htmx=True)
        assert refused.status_code == 422
        assert "allow-list" in refused.get_data(as_text=True)
        bad_list = web.post("/admin/webhooks/allow-list", {"allow_list": "no such thing!"})
        assert bad_list.status_code == 422
        assert web.post("/admin/webhooks/allow-list", {"allow_list": "127.0.0.1/32"}).status_code == 200
        created = web.post("/admin/webhooks", {"url": rx.url, "kinds": ["case.filed"], "case_type": "complaint",
                                               "description": "ERP"}, htmx=True)
        assert created.status_code == 200
        html = created.get_data(as_text=True)
        secret = html.split('<code id="webhook-secret">', 1)[1].split("</code>", 1)[0]
        assert secret.startswith("whsec_")
        with app.app_context():
            sub = db.session.scalar(select(WebhookSubscription))
            assert sub is not None and sub.case_type is not None and sub.case_type.slug == "complaint"
            sub_id = sub.id
        file_case(client, tokens)
        deliver(app)
        detail = web.get(f"/admin/webhooks/{sub_id}").get_data(as_text=True)
        assert secret not in detail and "HTTP 200" in detail
        with app.app_context():
            delivery_id = db.session.scalar(select(WebhookDelivery.id))
        again = web.post(f"/admin/webhooks/{sub_id}/deliveries/{delivery_id}/redeliver", htmx=True)
        assert again.status_code == 200 and "pending" in again.get_data(as_text=True)
        deliver(app)
        assert len(rx.requests) == 2 and rx.requests[0].headers["webhook-id"] == rx.requests[1].headers["webhook-id"]
        Webhook(secret).verify(rx.requests[1].body, rx.requests[1].headers)
        off = web.post(f"/admin/webhooks/{sub_id}/active", {"active": ""}, htmx=True)
        assert off.status_code == 200 and "Turn on again" in off.get_data(as_text=True)
        assert web.post(f"/admin/webhooks/{sub_id}/deliveries/999/redeliver", htmx=True).status_code == 404


def test_the_request_goes_to_the_resolved_address_with_the_host_name(hooks: Any) -> None:
    """Resolved once, pinned: the connection goes to the checked address, the Host header names the host."""
    app, client, tokens = hooks
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if host == "hooks.example.test" else system_resolver(host, port)

    app.config["WEBHOOK_RESOLVER"] = resolver
    with receiver() as rx:
        port = rx.url.split(":")[2].split("/")[0]
        with app.app_context():
            admin = accounts.find_user(db.session, "admin@example.com")
            assert admin is not None
            webhooks.set_allow_list(db.session, "hooks.example.test", admin)
            webhooks.create_subscription(db.session, url=f"http://hooks.example.test:{port}/in", kinds=["case.filed"],
                                         actor=admin, resolve=resolver)
        file_case(client, tokens)
        assert deliver(app) == 1
        assert rx.requests[0].headers["host"] == f"hooks.example.test:{port}"
        assert rx.requests[0].path == "/in"
        assert calls == ["hooks.example.test", "hooks.example.test"]  # on saving, and for the request
