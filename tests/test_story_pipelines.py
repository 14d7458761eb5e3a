"""The listening story through the real write paths: hourly ETL runs against the sandbox over
HTTP, then an old history imported from a privacy export (real import job), then a time-zone
change.  After each, the stored sessions equal the raw plays' and every story figure read from
the summaries equals the one read from the raw plays."""

from __future__ import annotations

import datetime as dt

from demo.export import EXTENDED_FOLDER, extended_history, write_zip
from models import stats
from models.accounts.users import set_timezone
from models.imports.history_import import create_job, run_job
from models.schema.tables import ListeningSession, User
from spotify.sandbox.catalogue import World
from tests.etl_world import connect_listener, naive, run_etl
from tests.story_world import sessions_from_raw_plays

END = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)  # the sandbox's clock in tests


def check(user: User) -> None:
    stored = sorted(
        (s.started_at, s.last_played_at, s.length_ms, s.plays, s.ms_played)
        for s in ListeningSession.select().where(ListeningSession.user == user.id)
    )
    assert stored == sessions_from_raw_plays(user.id) and stored
    tz = User.get_by_id(user.id).timezone
    now = naive(END)
    period = stats.review_period("2026", None, None, tz, now=now)
    answers = (
        lambda: stats.streaks(user.id, tz, now=now),
        lambda: stats.calendar(user.id, 2026, tz),
        lambda: stats.discoveries_per_month(user.id, tz),
        lambda: stats.discovered(user.id, period),
        lambda: stats.year_in_review(user.id, period),
    )
    for answer in answers:
        expected = answer()
        with stats.from_raw_plays():
            assert answer() == expected


def test_etl_then_an_old_import_then_a_new_zone(db, etl, fresh_sandbox, tmp_path):
    world = World()
    listener_id = fresh_sandbox.listeners()[0]["id"]
    user = connect_listener(fresh_sandbox, listener_id)
    for hours in (30, 6, 0):  # three hourly runs, the last at the sandbox's now
        moment = END - dt.timedelta(hours=hours)
        fresh_sandbox.set_clock(moment)
        assert run_etl(etl, naive(moment)).status.name == "SUCCESS"
    check(user)
    entries = extended_history(
        world, world.listener_by_id[listener_id], END - dt.timedelta(days=12), END
    )
    path = write_zip(
        tmp_path / "old.zip", {f"{EXTENDED_FOLDER}/Streaming_History_Audio_2026_0.json": entries}
    )
    job, export = create_job(user, path)
    assert run_job(job.id, export=export).plays_added > 0  # older plays, and the same again
    check(user)
    set_timezone(user, "Asia/Kathmandu")  # a quarter-hour zone
    check(user)
