"""The case-type designer's business-hours editor: working days and hours, holidays and the time zone that
an SLA "counted in business hours only" uses, and the sentence that says so wherever business hours apply."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from app.designer.drafts import DraftForm
from app.webforms import CheckboxList
from case_types.calendar import DEFAULT_CALENDAR, WEEKDAYS, describe_calendar, read_calendar


@lru_cache(maxsize=1)
def _zones() -> list[tuple[str, str]]:
    return [(z, z.replace("_", " ")) for z in sorted(available_timezones()) if "/" in z or z == "UTC"]


class CalendarForm(DraftForm):
    timezone = SelectField("Time zone", validate_choice=False,
                           description="The working hours are local times of this zone (daylight saving included).")
    days = CheckboxList("Working days", choices=[(str(i), name) for i, name in enumerate(WEEKDAYS, start=1)])
    start = StringField("Working day starts", validators=[Optional(), Length(max=5)], render_kw={"type": "time"})
    end = StringField("Working day ends", validators=[Optional(), Length(max=5)],
                      description="24:00 for midnight.", render_kw={"inputmode": "numeric"})
    holidays = TextAreaField("Holidays", validators=[Optional(), Length(max=20000)],
                             description="One date a line, like 2026-12-25. Business hours skip them.")


def calendar_form(document: Mapping[str, Any], revision: int, *, submitted: bool = False) -> CalendarForm:
    if submitted:
        form = CalendarForm(prefix="cal-")
    else:
        raw = document.get("calendar") if isinstance(document.get("calendar"), Mapping) else {}
        calendar, _ = read_calendar({"timezone": DEFAULT_CALENDAR.timezone, **raw})
        calendar = calendar or DEFAULT_CALENDAR
        form = CalendarForm(prefix="cal-", formdata=None, data={
            "expected_revision": revision, "timezone": calendar.timezone,
            "days": [str(d) for d in sorted(calendar.days)],
            "start": f"{calendar.start:%H:%M}", "end": "24:00" if calendar.end.hour == calendar.end.minute == 0
            else f"{calendar.end:%H:%M}",
            "holidays": "\n".join(d.isoformat() for d in sorted(calendar.holidays))})
    form.timezone.choices = _zones()
    return form


def calendar_input(form: CalendarForm) -> dict[str, Any]:
    """The calendar document as posted (read_calendar checks it)."""
    days = [int(d) for d in form.days.data or [] if str(d).isdigit()]
    lines = (form.holidays.data or "").replace("\r", "\n").split("\n")
    return {"timezone": (form.timezone.data or "").strip(), "days": days,
            "start": (form.start.data or "").strip(), "end": (form.end.data or "").strip(),
            "holidays": [line.strip() for line in lines if line.strip()]}


def calendar_sentence(document: Mapping[str, Any]) -> str:
    """What business hours mean for this case type, for every place that offers them."""
    raw = document.get("calendar")
    if raw is None:
        return f"Business hours: {describe_calendar(DEFAULT_CALENDAR)} (the default: set them under Business hours)."
    calendar, problems = read_calendar(raw)
    if calendar is None or problems:
        return "Business hours: the calendar has problems; fix it under Business hours."
    return f"Business hours: {describe_calendar(calendar)}."
