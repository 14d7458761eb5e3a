"""Periods: whole local days in the user's time zone, and errors that name the parameter."""

from __future__ import annotations

import datetime as dt

import pytest

from models.periods import PeriodError, parse_period, utc_offset_spans

NOW = dt.datetime(2026, 11, 26, 12, 0)


def test_seven_days_end_with_today_and_start_at_local_midnight():
    period = parse_period("7d", tz="UTC", now=NOW)
    assert (period.start, period.end) == (dt.datetime(2026, 11, 20), dt.datetime(2026, 11, 27))
    assert period.key == "7d" and period.bucket == "day" and period.days == 7


def test_kolkata_days_begin_at_18_30_utc_and_23_30_utc_is_tomorrow():
    period = parse_period("7d", tz="Asia/Kolkata", now=dt.datetime(2026, 11, 26, 23, 30))
    assert period.last_day == dt.date(2026, 11, 27)
    assert period.start == dt.datetime(2026, 11, 20, 18, 30)
    assert period.end == dt.datetime(2026, 11, 27, 18, 30)


def test_a_dst_day_lasts_23_hours_in_new_york():
    period = parse_period(from_="2026-03-08", to="2026-03-08", tz="America/New_York", now=NOW)
    assert period.start == dt.datetime(2026, 3, 8, 5)
    assert period.end - period.start == dt.timedelta(hours=23)


def test_months_and_all_time():
    twelve = parse_period("12m", now=dt.datetime(2026, 2, 28, 9))
    assert (twelve.first_day, twelve.last_day) == (dt.date(2025, 3, 1), dt.date(2026, 2, 28))
    assert twelve.bucket == "month"
    assert parse_period("6m", now=NOW).bucket == "week"
    everything = parse_period("all", now=NOW)
    assert everything.start is None and everything.end == dt.datetime(2026, 11, 27)
    assert everything.previous().start == everything.previous().end


def test_custom_dates_include_to_and_previous_has_the_same_length():
    period = parse_period(from_="2026-01-10", to="2026-01-19", tz="Europe/Paris", now=NOW)
    assert period.start == dt.datetime(2026, 1, 9, 23) and period.days == 10
    previous = period.previous()
    assert (previous.first_day, previous.last_day) == (dt.date(2025, 12, 31), dt.date(2026, 1, 9))
    assert previous.end == period.start


def test_default_range_is_four_weeks():
    assert parse_period(now=NOW).key == "4w"
    assert parse_period(range="", from_="", to="", now=NOW).key == "4w"


@pytest.mark.parametrize(
    "kwargs, param",
    [
        (dict(range="3d"), "range"),
        (dict(range="7d", from_="2026-01-01"), "range"),
        (dict(from_="2026-13-01"), "from"),
        (dict(from_="yesterday"), "from"),
        (dict(to="2026-02-30"), "to"),
        (dict(from_="2026-02-01", to="2026-01-01"), "from"),
        (dict(tz="Mars/Olympus"), "tz"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, param):
    with pytest.raises(PeriodError) as caught:
        parse_period(now=NOW, **kwargs)
    assert caught.value.param == param
    assert str(caught.value).startswith(f"{param}: ")


def test_offset_spans_follow_dst_to_the_second():
    spans = utc_offset_spans("Europe/Paris", dt.datetime(2025, 1, 1), dt.datetime(2026, 1, 1))
    assert spans == [
        (dt.datetime(2025, 3, 30, 1), 3600),
        (dt.datetime(2025, 10, 26, 1), 7200),
        (None, 3600),
    ]
    assert utc_offset_spans("Asia/Kolkata", dt.datetime(2016, 1, 1), dt.datetime(2026, 1, 1)) == [
        (None, 19800)
    ]
