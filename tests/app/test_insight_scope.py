"""The filters of the insight pages: checked values, periods, and an agent held to their own queues."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.insight.scope import DEFAULT_DAYS, parse_scope
from cases.errors import InvalidQuery

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def test_the_default_is_the_last_90_days_including_today() -> None:
    scope = parse_scope({}, now=NOW, case_type="complaint", queues=None)
    assert scope.days == DEFAULT_DAYS
    assert scope.end == datetime(2026, 12, 1, tzinfo=UTC) and (scope.end - scope.start).days == DEFAULT_DAYS
    assert scope.args() == {"days": "90"}
    assert scope.previous().end == scope.start and (scope.previous().end - scope.previous().start).days == 90


def test_dates_replace_the_period_and_round_trip_through_args() -> None:
    scope = parse_scope({"from": "2026-11-01", "to": "2026-11-07", "days": "30", "priority": "high",
                         "queue": "general", "version": "2", "requester": "anonymous"}, now=NOW,
                        case_type="complaint", queues=None)
    assert scope.days is None and scope.label == "2026-11-01 to 2026-11-07"
    again = parse_scope(scope.args(), now=NOW, case_type="complaint", queues=None)
    assert again == scope


@pytest.mark.parametrize(("args", "field"), [
    ({"days": "0"}, "days"), ({"days": "x"}, "days"), ({"from": "2026-13-01"}, "from"),
    ({"from": "2026-11-05", "to": "2026-11-01"}, "to"), ({"priority": "<script>"}, "priority"),
    ({"queue": "a b"}, "queue"), ({"version": "-1"}, "version"), ({"requester": "robot"}, "requester"),
])
def test_bad_values_name_their_parameter(args: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidQuery) as raised:
        parse_scope(args, now=NOW, case_type=None, queues=None)
    assert field in raised.value.fields


def test_an_agent_cannot_ask_for_another_queue() -> None:
    mine = frozenset({"general"})
    assert parse_scope({"queue": "general"}, now=NOW, case_type=None, queues=mine).queues == mine
    with pytest.raises(InvalidQuery) as raised:
        parse_scope({"queue": "escalations"}, now=NOW, case_type=None, queues=mine)
    assert raised.value.fields["queue"] == ["You see the figures of your own queues only."]
