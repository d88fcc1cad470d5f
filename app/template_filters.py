"""Jinja filters every page uses to show times: one format for dates and one for moments, in UTC."""

from __future__ import annotations

import datetime as dt

from flask import Flask


def format_date(value: dt.date) -> str:
    """A day, as `2024-03-01`."""
    return value.strftime("%Y-%m-%d")


def format_datetime(value: dt.datetime, seconds: bool = False) -> str:
    """A moment, as `2024-03-01 14:30` (with `:05` seconds where the order of events matters)."""
    return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def format_time(value: dt.datetime, seconds: bool = False) -> str:
    """The time of day alone, as `14:30`, for a moment the same row shows the day of."""
    return value.strftime("%H:%M:%S" if seconds else "%H:%M")


def init_template_filters(app: Flask) -> None:
    """Register `|date`, `|datetime` and `|time` for every template."""
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_time, "time")
