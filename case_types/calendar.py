"""Business calendars: working days and hours, holidays and a time zone, and time counted in them.

An SLA of "8 business hours" means 8 hours of the calendar's working time: nights, non-working days and
holidays do not count. Working hours are local times in the calendar's time zone, so a deadline lands
where people expect it across daylight-saving changes; everything returned is an aware UTC datetime.

A calendar is part of a case-type document::

    "calendar": {"timezone": "Europe/Berlin", "days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00",
                 "holidays": ["2026-12-25", "2026-12-26"]}

`days` are ISO weekdays (1 = Monday ... 7 = Sunday); `end` may be "24:00" (working until midnight).
Only `timezone` is required; the other parts default to Monday to Friday, 09:00 to 17:00, no holidays.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from forms.errors import DefinitionError

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MIDNIGHT = time(0, 0)
MAX_HOLIDAYS = 1000
# add() walks day by day; a target that finds no working time within this many days is refused, not looped on.
MAX_DAYS = 366 * 100
CALENDAR_KEYS = {"timezone", "days", "start", "end", "holidays"}
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ZONE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$")


def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not _ZONE_RE.match(name):
        raise ValueError(f"{name!r} is not a time zone name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{name!r} is not a time zone") from None


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("business time needs timezone-aware datetimes")
    return at.astimezone(UTC)


@dataclass(frozen=True)
class BusinessCalendar:
    """Working time: `days` (ISO weekdays) from `start` to `end` local time in `timezone`, except `holidays`.

    `end == time(0)` means midnight at the end of the day (24:00).
    """

    timezone: str = "UTC"
    days: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    start: time = time(9, 0)
    end: time = time(17, 0)
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        _zone(self.timezone)
        if not self.days or not self.days <= set(range(1, 8)):
            raise ValueError("working days are ISO weekdays 1 to 7, at least one")
        for moment in (self.start, self.end):
            if moment.tzinfo is not None or moment.second or moment.microsecond:
                raise ValueError("working hours are local times in whole minutes")
        if self.end != MIDNIGHT and self.end <= self.start:
            raise ValueError("the working day must end after it starts")

    @cached_property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The working time of a local date in UTC (opening, closing), or None on a day off."""
        if day.isoweekday() not in self.days or day in self.holidays:
            return None
        opens = datetime.combine(day, self.start, tzinfo=self.zone).astimezone(UTC)
        closing_day = day + timedelta(days=1) if self.end == MIDNIGHT else day
        closes = datetime.combine(closing_day, self.end, tzinfo=self.zone).astimezone(UTC)
        # Real durations come from UTC arithmetic, so a working day that spans a DST change is 1 h shorter
        # or longer; one that a gap swallows entirely (nonsense hours like 02:00-02:30) has no working time.
        return (opens, closes) if opens < closes else None

    def is_working_time(self, at: datetime) -> bool:
        """Whether `at` is inside working hours (opening included, closing excluded)."""
        at = _aware(at)
        window = self.window(at.astimezone(self.zone).date())
        return window is not None and window[0] <= at < window[1]

    def add(self, start: datetime, hours: float, *, business: bool = True) -> datetime:
        """The moment `hours` after `start`: counted in working time when `business`, else elapsed time.

        Business time starting outside working hours starts at the next opening, so `add(t, 0)` is `t`
        inside working hours and the next opening outside them. Non-business hours are real elapsed
        hours (UTC), so 24 h across a DST change is still 24 h, not "same time tomorrow".
        """
        at = _aware(start)
        if hours < 0:
            raise ValueError("hours cannot be negative")
        remaining = timedelta(hours=hours)
        if not business:
            return at + remaining
        day = at.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            window = self.window(day)
            if window is not None:
                opens, closes = window
                begin = max(opens, at)
                if begin < closes:
                    if remaining <= closes - begin:
                        return begin + remaining
                    remaining -= closes - begin
            day += timedelta(days=1)
        raise ValueError(f"no {hours} working hours within {MAX_DAYS} days of {start.isoformat()}")

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself inside working hours, else the moment working time next begins."""
        return self.add(at, 0)

    def next_day_opening(self, at: datetime) -> datetime:
        """The opening of the first working day after `at`'s local date ("next business day, first thing")."""
        day = _aware(at).astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            day += timedelta(days=1)
            window = self.window(day)
            if window is not None:
                return window[0]
        raise ValueError(f"no working day within {MAX_DAYS} days of {at.isoformat()}")

    def local(self, at: datetime) -> str:
        """`at` as people of this calendar read it: "Monday 2026-12-07 09:00 Europe/London"."""
        moment = _aware(at).astimezone(self.zone)
        return f"{WEEKDAYS[moment.weekday()]} {moment:%Y-%m-%d %H:%M} {self.timezone}"

    def describe(self) -> str:
        """The working hours in words: "Monday to Friday, 09:00 to 17:00 Europe/London"."""
        days = sorted(self.days)
        if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
            named = f"{WEEKDAYS[days[0] - 1]} to {WEEKDAYS[days[-1] - 1]}"
        else:
            named = ", ".join(WEEKDAYS[d - 1] for d in days)
        holidays = ", except holidays" if self.holidays else ""
        return f"{named}, {_format_time(self.start)} to {_format_time(self.end, end=True)} {self.timezone}{holidays}"

    def business_seconds_between(self, a: datetime, b: datetime) -> float:
        """Seconds of working time from `a` to `b` (0 when `b` is not after `a`)."""
        a, b = _aware(a), _aware(b)
        if b <= a:
            return 0.0
        total = timedelta()
        day, last = a.astimezone(self.zone).date(), b.astimezone(self.zone).date()
        while day <= last:
            window = self.window(day)
            if window is not None:
                overlap = min(window[1], b) - max(window[0], a)
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return total.total_seconds()

    def seconds_between(self, a: datetime, b: datetime, *, business: bool) -> float:
        """Working seconds when `business`, else elapsed seconds, from `a` to `b` (never negative)."""
        if business:
            return self.business_seconds_between(a, b)
        return max(0.0, (_aware(b) - _aware(a)).total_seconds())


DEFAULT_CALENDAR = BusinessCalendar()
"""Monday to Friday, 09:00 to 17:00 UTC, no holidays: used when a case type names no calendar."""


# ---------------------------------------------------------------- documents


def _format_time(moment: time, *, end: bool = False) -> str:
    return "24:00" if end and moment == MIDNIGHT else f"{moment.hour:02d}:{moment.minute:02d}"


def dump_calendar(calendar: BusinessCalendar) -> dict[str, Any]:
    """The canonical document of a calendar (read_calendar(dump_calendar(c)) gives c back)."""
    return {
        "timezone": calendar.timezone,
        "days": sorted(calendar.days),
        "start": _format_time(calendar.start),
        "end": _format_time(calendar.end, end=True),
        "holidays": [d.isoformat() for d in sorted(calendar.holidays)],
    }


def _parse_time(raw: Any, *, end: bool) -> time | None:
    if not isinstance(raw, str):
        return None
    match = _TIME_RE.match(raw.strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if end and (hour, minute) == (24, 0):
        return MIDNIGHT
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _read_holidays(holidays_raw: Any, problem: Callable[[str, str], None]) -> set[date]:
    """The calendar's holidays; each entry that is not a date is reported at its index."""
    holidays: set[date] = set()
    if not isinstance(holidays_raw, list):
        problem("holidays", "List the holidays as dates like 2026-12-25.")
    elif len(holidays_raw) > MAX_HOLIDAYS:
        problem("holidays", f"Use at most {MAX_HOLIDAYS} holidays.")
    else:
        for i, item in enumerate(holidays_raw):
            try:
                if not isinstance(item, str) or not _DATE_RE.match(item.strip()):
                    raise ValueError
                holidays.add(date.fromisoformat(item.strip()))
            except ValueError:
                problem(f"holidays[{i}]", f"'{item}' is not a date; write holidays like 2026-12-25.")
    return holidays


def read_calendar(raw: Any, path: str = "calendar") -> tuple[BusinessCalendar | None, list[tuple[str, str]]]:
    """A calendar from its document, and every problem as (path, message an admin understands)."""
    problems: list[tuple[str, str]] = []

    def problem(part: str, message: str) -> None:
        problems.append((f"{path}.{part}" if part else path, message))

    if not isinstance(raw, Mapping):
        problem("", "The calendar is an object with a time zone, working days, working hours and holidays.")
        return None, problems
    for extra in sorted(set(raw) - CALENDAR_KEYS, key=str):
        problem(str(extra), f"Unknown setting '{extra}'.")

    timezone = raw.get("timezone")
    if not isinstance(timezone, str) or not timezone.strip():
        problem("timezone", "Choose the time zone the working hours are in, like Europe/Berlin.")
        timezone = None
    else:
        timezone = timezone.strip()
        try:
            _zone(timezone)
        except ValueError:
            problem("timezone", f"'{timezone}' is not a time zone; use a name like Europe/Berlin or "
                                "America/New_York.")
            timezone = None

    days_raw = raw.get("days", [1, 2, 3, 4, 5])
    days: set[int] = set()
    if not isinstance(days_raw, list) or any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7
                                             for d in days_raw):
        problem("days", "Choose the working days as numbers from 1 (Monday) to 7 (Sunday).")
    elif not days_raw:
        problem("days", "Choose at least one working day.")
    else:
        days = set(days_raw)

    start = _parse_time(raw.get("start", "09:00"), end=False)
    if start is None:
        problem("start", "Enter the time the working day starts, like 09:00.")
    end = _parse_time(raw.get("end", "17:00"), end=True)
    if end is None:
        problem("end", "Enter the time the working day ends, like 17:00 (or 24:00 for midnight).")
    if start is not None and end is not None and end != MIDNIGHT and end <= start:
        problem("end", f"The working day must end after it starts ({_format_time(start)}).")

    holidays = _read_holidays(raw.get("holidays", []), problem)
    if problems or timezone is None or start is None or end is None:
        return None, problems
    return BusinessCalendar(timezone, frozenset(days), start, end, frozenset(holidays)), problems


def load_calendar(raw: Any) -> BusinessCalendar:
    """A valid calendar, or DefinitionError listing every problem (paths start with `calendar`)."""
    calendar, problems = read_calendar(raw)
    if problems or calendar is None:
        raise DefinitionError([(p, None, m) for p, m in problems] or [("calendar", None, "Invalid calendar.")])
    return calendar


def _day_span(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{WEEKDAYS[ordered[0] - 1]} to {WEEKDAYS[ordered[-1] - 1]}"
    return ", ".join(WEEKDAYS[d - 1] for d in ordered)


def describe_calendar(calendar: BusinessCalendar) -> str:
    """What "business hours" mean, in words: "Monday to Friday, 09:00 to 17:00 Europe/Berlin time, 2 holidays"."""
    holidays = len(calendar.holidays)
    extra = f", except {holidays} holiday{'s' if holidays != 1 else ''}" if holidays else ""
    return (f"{_day_span(calendar.days)}, {_format_time(calendar.start)} to {_format_time(calendar.end, end=True)} "
            f"{calendar.timezone} time{extra}")
