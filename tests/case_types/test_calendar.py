"""Business calendars: deadlines across weekends, holidays and DST; calendar documents; properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from case_types.calendar import DEFAULT_CALENDAR, BusinessCalendar, dump_calendar, load_calendar, read_calendar
from case_types.loading import load_case_type
from case_types.workflow import Context, FormInfo, diff_case_types, dump_case_type, starter_case_type
from forms.errors import DefinitionError

BERLIN = ZoneInfo("Europe/Berlin")
BERLIN_CALENDAR = BusinessCalendar("Europe/Berlin", frozenset({1, 2, 3, 4, 5}), time(9), time(17),
                                   frozenset({date(2026, 12, 25), date(2026, 12, 26)}))


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# ---------------------------------------------------------------- when a scheduled change takes effect


def test_next_opening_and_next_business_day_in_local_time() -> None:
    christmas_eve_evening = berlin(2026, 12, 24, 18, 30)
    assert BERLIN_CALENDAR.next_opening(berlin(2026, 12, 24, 10, 0)) == berlin(2026, 12, 24, 10, 0)
    assert BERLIN_CALENDAR.next_opening(christmas_eve_evening) == berlin(2026, 12, 28, 9, 0)  # holidays, weekend
    assert BERLIN_CALENDAR.next_day_opening(berlin(2026, 12, 24, 8, 0)) == berlin(2026, 12, 28, 9, 0)
    assert BERLIN_CALENDAR.next_day_opening(berlin(2026, 3, 27, 12, 0)) == utc(2026, 3, 30, 7, 0)  # after DST
    assert BERLIN_CALENDAR.local(utc(2026, 12, 28, 8, 0)) == "Monday 2026-12-28 09:00 Europe/Berlin"
    assert BERLIN_CALENDAR.describe() == "Monday to Friday, 09:00 to 17:00 Europe/Berlin, except holidays"
    odd = BusinessCalendar("UTC", frozenset({1, 3}), time(8), time(0))
    assert odd.describe() == "Monday, Wednesday, 08:00 to 24:00 UTC"


# ---------------------------------------------------------------- deadlines where people expect them


def test_the_default_calendar_is_weekdays_nine_to_five_utc() -> None:
    assert (DEFAULT_CALENDAR.timezone, sorted(DEFAULT_CALENDAR.days)) == ("UTC", [1, 2, 3, 4, 5])
    assert (DEFAULT_CALENDAR.start, DEFAULT_CALENDAR.end, DEFAULT_CALENDAR.holidays) == (time(9), time(17),
                                                                                        frozenset())


def test_business_hours_skip_the_night_and_the_weekend() -> None:
    friday = utc(2026, 6, 5, 15, 0)
    assert DEFAULT_CALENDAR.add(friday, 1) == utc(2026, 6, 5, 16, 0)
    assert DEFAULT_CALENDAR.add(friday, 2) == utc(2026, 6, 5, 17, 0)  # exactly at closing time
    assert DEFAULT_CALENDAR.add(friday, 4) == utc(2026, 6, 8, 11, 0)  # Monday
    assert DEFAULT_CALENDAR.add(utc(2026, 6, 6, 12, 0), 1) == utc(2026, 6, 8, 10, 0)  # from a Saturday
    assert DEFAULT_CALENDAR.add(utc(2026, 6, 8, 7, 30), 0.5) == utc(2026, 6, 8, 9, 30)  # before opening
    assert DEFAULT_CALENDAR.add(utc(2026, 6, 8, 20, 0), 0) == utc(2026, 6, 9, 9, 0)  # clock starts at opening
    assert DEFAULT_CALENDAR.add(utc(2026, 6, 8, 10, 0), 40) == utc(2026, 6, 15, 10, 0)  # a working week


def test_holidays_do_not_count() -> None:
    # Thursday 24 December 16:00 in Berlin: one hour that day, Christmas (Fri) and the weekend off.
    due = BERLIN_CALENDAR.add(berlin(2026, 12, 24, 16, 0), 3)
    assert due == berlin(2026, 12, 28, 11, 0)
    assert due.tzinfo is UTC and due == utc(2026, 12, 28, 10, 0)
    assert BERLIN_CALENDAR.business_seconds_between(berlin(2026, 12, 24, 16, 0), due) == 3 * 3600


def test_working_hours_are_local_time_across_daylight_saving_changes() -> None:
    # Autumn: Friday 23 October 16:00 CEST (UTC+2); clocks go back on Sunday 25 October.
    due = BERLIN_CALENDAR.add(berlin(2026, 10, 23, 16, 0), 2)
    assert due == berlin(2026, 10, 26, 10, 0) == utc(2026, 10, 26, 9, 0)  # Monday 10:00 CET (UTC+1)
    # Spring: Friday 27 March 16:00 CET; clocks go forward on Sunday 29 March.
    due = BERLIN_CALENDAR.add(berlin(2026, 3, 27, 16, 0), 2)
    assert due == berlin(2026, 3, 30, 10, 0) == utc(2026, 3, 30, 8, 0)  # Monday 10:00 CEST (UTC+2)
    assert BERLIN_CALENDAR.business_seconds_between(berlin(2026, 3, 27, 9, 0), berlin(2026, 3, 30, 17, 0)) \
        == 16 * 3600


def test_round_the_clock_calendars_count_real_hours_on_dst_days() -> None:
    always = BusinessCalendar("Europe/Berlin", frozenset(range(1, 8)), time(0), time(0))
    start = berlin(2026, 10, 24, 12, 0)  # the night that follows has 25 hours
    # (Python adds timedeltas to zoned datetimes in wall-clock time; real hours are added in UTC.)
    assert always.add(start, 24) == start.astimezone(UTC) + timedelta(hours=24) == berlin(2026, 10, 25, 11, 0)
    assert always.business_seconds_between(berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0)) == 25 * 3600
    assert always.business_seconds_between(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0)) == 23 * 3600


def test_non_business_hours_are_elapsed_time() -> None:
    start = berlin(2026, 10, 24, 12, 0)
    assert BERLIN_CALENDAR.add(start, 24, business=False) == berlin(2026, 10, 25, 11, 0)  # not 12:00
    assert BERLIN_CALENDAR.seconds_between(start, start + timedelta(hours=5), business=False) == 5 * 3600
    assert BERLIN_CALENDAR.seconds_between(start, start - timedelta(hours=5), business=False) == 0


def test_naive_datetimes_and_negative_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DEFAULT_CALENDAR.add(datetime(2026, 6, 5, 9, 0), 1)  # naive: the point of the test
    with pytest.raises(ValueError, match="negative"):
        DEFAULT_CALENDAR.add(utc(2026, 6, 5, 9, 0), -1)


def test_working_time() -> None:
    assert BERLIN_CALENDAR.is_working_time(berlin(2026, 12, 24, 9, 0))
    assert not BERLIN_CALENDAR.is_working_time(berlin(2026, 12, 24, 17, 0))
    assert not BERLIN_CALENDAR.is_working_time(berlin(2026, 12, 25, 12, 0))  # holiday
    assert not BERLIN_CALENDAR.is_working_time(berlin(2026, 12, 27, 12, 0))  # Sunday


@pytest.mark.parametrize("kwargs", [
    {"timezone": "Mars/Olympus"}, {"days": frozenset()}, {"days": frozenset({0, 1})},
    {"start": time(17), "end": time(9)}, {"start": time(9, 0, 30)},
])
def test_invalid_calendars_cannot_be_built(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        BusinessCalendar(**kwargs)


# ---------------------------------------------------------------- calendar documents


def test_a_calendar_document_round_trips() -> None:
    document = {"timezone": "Europe/Berlin", "days": [5, 1, 2, 3, 4], "start": "9:00", "end": "17:00",
                "holidays": ["2026-12-26", "2026-12-25"]}
    calendar = load_calendar(document)
    assert calendar == BERLIN_CALENDAR
    assert dump_calendar(calendar) == {"timezone": "Europe/Berlin", "days": [1, 2, 3, 4, 5], "start": "09:00",
                                       "end": "17:00", "holidays": ["2026-12-25", "2026-12-26"]}
    assert load_calendar(dump_calendar(calendar)) == calendar


def test_only_the_time_zone_is_required_and_24_00_ends_at_midnight() -> None:
    calendar = load_calendar({"timezone": "America/New_York", "end": "24:00"})
    assert calendar == BusinessCalendar("America/New_York", end=time(0))
    assert dump_calendar(calendar)["end"] == "24:00"


def test_calendar_problems_are_listed_where_they_are() -> None:
    document = {"timezone": "Mars/Olympus", "days": [0, 8], "start": "nine", "end": "25:00",
                "holidays": ["2026-12-25", "Christmas", "2026-02-30"], "weekends": True}
    calendar, problems = read_calendar(document)
    assert calendar is None
    assert dict(problems) == {
        "calendar.weekends": "Unknown setting 'weekends'.",
        "calendar.timezone": "'Mars/Olympus' is not a time zone; use a name like Europe/Berlin or America/New_York.",
        "calendar.days": "Choose the working days as numbers from 1 (Monday) to 7 (Sunday).",
        "calendar.start": "Enter the time the working day starts, like 09:00.",
        "calendar.end": "Enter the time the working day ends, like 17:00 (or 24:00 for midnight).",
        "calendar.holidays[1]": "'Christmas' is not a date; write holidays like 2026-12-25.",
        "calendar.holidays[2]": "'2026-02-30' is not a date; write holidays like 2026-12-25.",
    }


@pytest.mark.parametrize(("document", "path", "message"), [
    ("Mon-Fri", "calendar", "The calendar is an object"),
    ({}, "calendar.timezone", "Choose the time zone"),
    ({"timezone": "../../etc/passwd"}, "calendar.timezone", "is not a time zone"),
    ({"timezone": "UTC", "days": []}, "calendar.days", "at least one working day"),
    ({"timezone": "UTC", "days": [True]}, "calendar.days", "numbers from 1 (Monday)"),
    ({"timezone": "UTC", "start": "17:00", "end": "09:00"}, "calendar.end", "must end after it starts (17:00)"),
    ({"timezone": "UTC", "holidays": "2026-12-25"}, "calendar.holidays", "List the holidays"),
])
def test_each_calendar_problem_is_explained(document: Any, path: str, message: str) -> None:
    with pytest.raises(DefinitionError) as info:
        load_calendar(document)
    assert [(p.path, message in p.message) for p in info.value.errors] == [(path, True)]


# ---------------------------------------------------------------- in the case-type language


def _context() -> Context:
    info = FormInfo(slug="complaint", version=1, families={"description": "text"})
    return Context(queues=frozenset({"general"}), forms={("complaint", 1): info})


def test_a_case_type_carries_its_calendar() -> None:
    document = starter_case_type("Complaint", form="complaint", form_version=1, queue="general")
    assert load_case_type(document, _context()).calendar == DEFAULT_CALENDAR
    assert "calendar" not in dump_case_type(load_case_type(document, _context()))
    document["calendar"] = dump_calendar(BERLIN_CALENDAR)
    spec = load_case_type(document, _context())
    assert spec.calendar == BERLIN_CALENDAR
    dumped = dump_case_type(spec)
    assert dumped["calendar"] == dump_calendar(BERLIN_CALENDAR)
    assert load_case_type(dumped, _context()) == spec
    before = dump_case_type(load_case_type({**document, "calendar": None}, _context()))
    assert any(c.startswith("Calendar changed from None") for c in diff_case_types(before, dumped))


def test_case_type_calendar_problems_have_calendar_paths() -> None:
    document = starter_case_type("Complaint", form="complaint", form_version=1, queue="general")
    document["calendar"] = {"timezone": "Europe/Atlantis", "end": "08:00"}
    with pytest.raises(DefinitionError) as info:
        load_case_type(document, _context())
    assert sorted(p.path for p in info.value.errors) == ["calendar.end", "calendar.timezone"]


# ---------------------------------------------------------------- properties

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/Sao_Paulo"]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    start_minute = draw(st.integers(0, 23 * 60 + 30))
    end_minute = draw(st.integers(start_minute + 15, 24 * 60))
    holidays = draw(st.frozensets(st.dates(date(2025, 12, 20), date(2026, 1, 10)), max_size=8))
    return BusinessCalendar(
        timezone=draw(st.sampled_from(ZONES)),
        days=draw(st.frozensets(st.integers(1, 7), min_size=1)),
        start=time(start_minute // 60, start_minute % 60),
        end=time(0) if end_minute == 24 * 60 else time(end_minute // 60, end_minute % 60),
        holidays=holidays,
    )


moments = st.datetimes(datetime(2025, 12, 1), datetime(2027, 1, 1), timezones=st.just(UTC))
hours = st.floats(0.01, 200, allow_nan=False).map(lambda h: round(h, 4))
TOLERANCE = 1e-3  # timedelta keeps microseconds


@settings(max_examples=300, deadline=None)
@given(calendars(), moments, hours)
def test_business_deadlines_land_in_working_time(calendar: BusinessCalendar, start: datetime, h: float) -> None:
    due = calendar.add(start, h)
    assert due > start
    # Inside working hours, or exactly at a closing time (the last working moment of a day).
    assert calendar.is_working_time(due) or calendar.is_working_time(due - timedelta(microseconds=1))


@settings(max_examples=300, deadline=None)
@given(calendars(), moments, hours)
def test_business_time_between_a_start_and_its_deadline_is_the_target(calendar: BusinessCalendar,
                                                                      start: datetime, h: float) -> None:
    due = calendar.add(start, h)
    assert calendar.business_seconds_between(start, due) == pytest.approx(h * 3600, abs=TOLERANCE)


@settings(max_examples=200, deadline=None)
@given(calendars(), moments, hours, hours)
def test_adding_in_two_steps_is_adding_once(calendar: BusinessCalendar, start: datetime, h1: float,
                                            h2: float) -> None:
    """What pausing relies on: stopping the clock after h1 and going on for h2 lands where h1 + h2 does."""
    once = calendar.add(start, h1 + h2)
    twice = calendar.add(calendar.add(start, h1), h2)
    assert abs((once - twice).total_seconds()) <= TOLERANCE
    assert calendar.add(start, h1) <= once


@settings(max_examples=200, deadline=None)
@given(calendars(), moments, moments)
def test_business_time_never_exceeds_elapsed_time(calendar: BusinessCalendar, a: datetime, b: datetime) -> None:
    seconds = calendar.business_seconds_between(a, b)
    assert 0 <= seconds <= max(0.0, (b - a).total_seconds())
