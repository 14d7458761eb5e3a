"""Possible gaps (``sync_gap``): shown on the account page, the dashboard, the admin page and
``/me/gaps``; filled or shortened by an import that covers them (models.ingest.gaps), on SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from demo.export import EXTENDED_FOLDER, extended_entry_template, write_zip
from models.imports.history_import import create_job, run_job, status_of
from models.ingest import gaps
from models.ingest.catalogue import HISTORY_BEGINS
from models.schema.tables import SyncGap
from tests.factories import make_play, make_track, make_user
from tests.webtools import login_as

T = dt.datetime(2026, 11, 10, 12, 0)
HOUR = dt.timedelta(hours=1)
TRACK_ID = "4uLU6hMCjMI75M1A2tKUQC"


def gap_rows(user) -> list[tuple]:
    """Every gap of ``user`` as (start, end, filled), oldest first."""
    return [
        (g.gap_start.replace(tzinfo=None), g.gap_end.replace(tzinfo=None), g.filled_at is not None)
        for g in SyncGap.select().where(SyncGap.user == user.id).order_by(SyncGap.gap_start)
    ]


def add_gap(user, start: dt.datetime, end: dt.datetime) -> None:
    SyncGap.create(user=user, gap_start=start, gap_end=end, detected_at=end + HOUR)


@pytest.mark.parametrize(
    ("first", "last", "after"),
    [
        # covers the whole gap (within the 30 s an export's stamp may differ): filled
        (T - HOUR, T + 5 * HOUR, [(T, T + 4 * HOUR, True)]),
        (T + dt.timedelta(seconds=20), T + 4 * HOUR - dt.timedelta(seconds=20), None),
        # covers its start: what is left begins at the import's last play
        (T - HOUR, T + HOUR, [(T + HOUR, T + 4 * HOUR, False)]),
        # covers its end: what is left ends at the import's first play
        (T + 3 * HOUR, T + 9 * HOUR, [(T, T + 3 * HOUR, False)]),
        # lies inside: two shorter gaps, before and after it
        (T + HOUR, T + 2 * HOUR, [(T, T + HOUR, False), (T + 2 * HOUR, T + 4 * HOUR, False)]),
        # before or after it: untouched
        (T - 9 * HOUR, T, [(T, T + 4 * HOUR, False)]),
        (T + 4 * HOUR, T + 9 * HOUR, [(T, T + 4 * HOUR, False)]),
    ],
)
def test_an_import_fills_or_shortens_the_gaps_it_covers(db, first, last, after):
    user, other = make_user(), make_user()
    add_gap(user, T, T + 4 * HOUR)
    add_gap(other, T, T + 4 * HOUR)
    gaps.cover(user.id, first, last)
    if after is None:  # the tolerance case: as filled as the first
        after = [(T, T + 4 * HOUR, True)]
    assert gap_rows(user) == after
    assert gap_rows(other) == [(T, T + 4 * HOUR, False)]  # another listener's gap stays
    before = gap_rows(user)
    gaps.cover(user.id, first, last)  # the same import again changes nothing
    assert gap_rows(user) == before
    assert [(g.start, g.end) for g in gaps.open_gaps(user.id)] == [
        (start, end) for start, end, filled in before if not filled
    ]


def test_a_first_sync_gap_is_filled_by_an_extended_history_and_shortened_by_account_data(db):
    extended, account = make_user(), make_user()
    for user in (extended, account):
        add_gap(user, HISTORY_BEGINS, T)
    # the extended history starts with the account's first play: nothing before it is missing
    gaps.cover(extended.id, T - 400 * 24 * HOUR, T + HOUR, since_account_began=True)
    assert gap_rows(extended) == [(HISTORY_BEGINS, T, True)]
    # account data holds one year: before it plays may still be missing
    gaps.cover(account.id, T - 300 * 24 * HOUR, T + HOUR)
    assert gap_rows(account) == [(HISTORY_BEGINS, T - 300 * 24 * HOUR, False)]
    (left,) = gaps.open_gaps(account.id)
    assert left.start is None and left.as_dict()["since_account_began"] is True
    assert gaps.filled_count(extended.id) == 1 and gaps.filled_count(account.id) == 0


def extended_export(tmp_path, start: dt.datetime, hours: int):
    """An extended-history zip with one counted play per hour from ``start``."""
    entries = []
    for n in range(hours + 1):
        ended_ms = int((start + n * HOUR).replace(tzinfo=dt.UTC).timestamp() * 1000)
        entry = extended_entry_template(ended_ms, 200_000)
        entry.update(
            master_metadata_track_name="Song",
            master_metadata_album_artist_name="Band",
            master_metadata_album_album_name="Record",
            spotify_track_uri=f"spotify:track:{TRACK_ID}",
        )
        entries.append(entry)
    return write_zip(
        tmp_path / "my_spotify_data.zip",
        {f"{EXTENDED_FOLDER}/Streaming_History_Audio_2026.json": entries},
    )


def test_a_finished_import_fills_and_shortens_the_listeners_gaps(db, tmp_path):
    user = make_user()
    add_gap(user, T + HOUR, T + 3 * HOUR)  # inside the export: filled
    add_gap(user, T + 5 * HOUR, T + 20 * HOUR)  # the export ends inside it: shortened
    job, export = create_job(user, extended_export(tmp_path, T, hours=8))
    job = run_job(job.id, export=export)
    assert job.status == "done" and job.plays_added == 9
    assert gap_rows(user) == [(T + HOUR, T + 3 * HOUR, True), (T + 8 * HOUR, T + 20 * HOUR, False)]
    report = status_of(job)
    assert (report["gaps_filled"], report["gaps_shortened"]) == (1, 1)


def test_a_killed_import_covers_the_gaps_when_it_resumes(db, tmp_path):
    user = make_user()
    add_gap(user, T + HOUR, T + 3 * HOUR)
    job, export = create_job(user, extended_export(tmp_path, T, hours=8))
    stopped = run_job(job.id, export=export, chunk_size=4, should_stop=lambda: True)
    assert stopped.status == "pending" and gap_rows(user)[0][2] is False  # not done: still open
    assert run_job(job.id, export=export, chunk_size=4).status == "done"
    assert gap_rows(user) == [(T + HOUR, T + 3 * HOUR, True)]


def test_the_dashboard_and_the_account_page_show_each_open_gap_with_the_way_to_fill_it(client, db):
    user = make_user()
    make_play(user, make_track(), T + 5 * HOUR)
    add_gap(user, HISTORY_BEGINS, T - 48 * HOUR)
    add_gap(user, T, T + 4 * HOUR)
    add_gap(user, T + 6 * HOUR, T + 7 * HOUR)
    gaps.cover(user.id, T + 6 * HOUR, T + 8 * HOUR)  # filled: shown no more
    login_as(client, user)
    for path, list_id in (("/dashboard?range=all", "dashboard-gaps"), ("/account", "account-gaps")):
        text = client.get(path).get_data(as_text=True)
        listed = text.split(f'id="{list_id}"')[1].split("</ul>")[0]
        assert listed.count("<li>") == 2, path
        assert (
            "Spotify showed only the last 50 of your plays between 2026-11-10 12:00 and "
            "2026-11-10 16:00" in listed
        )
        assert "before 2026-11-08 12:00, when the tracker first collected them" in listed
        assert "2026-11-10 18:00" not in listed
        assert 'href="/account/import"' in text.split(f'id="{list_id}"')[1]


def test_without_open_gaps_there_is_no_notice(client, db):
    user = make_user()
    make_play(user, make_track(), T)
    add_gap(user, T - HOUR, T)
    gaps.cover(user.id, T - 2 * HOUR, T + HOUR)
    login_as(client, user)
    assert 'id="gap-notice"' not in client.get("/dashboard?range=all").get_data(as_text=True)
    account = client.get("/account").get_data(as_text=True)
    assert 'id="account-gaps"' not in account
    assert "the gaps Spotify left were filled by your imports" in account


def test_the_admin_page_lists_open_gaps_per_listener(auth, client, db):
    many, one, none = (make_user(display_name=name) for name in ("Many Gaps", "One Gap", "None"))
    add_gap(many, HISTORY_BEGINS, T)
    add_gap(many, T + HOUR, T + 2 * HOUR)
    add_gap(one, T, T + HOUR)
    add_gap(none, T, T + HOUR)
    gaps.cover(none.id, T - HOUR, T + 2 * HOUR)
    auth.admin_login()
    table = client.get("/admin").get_data(as_text=True).split('id="open-gaps"')[1]
    table = table.split("</table>")[0]
    rows = table.split("<tbody>")[1].split("</tr>")[:-1]
    assert len(rows) == 2 and "Many Gaps" in rows[0] and "One Gap" in rows[1]
    assert '<td class="num">2</td>' in rows[0]
    assert "before 2026-11-10 12:00 (first sync)" in rows[0]
    assert "2026-11-10 13:00 – 2026-11-10 14:00" in rows[0]
    assert "None" not in table


def test_the_api_returns_the_open_gaps_in_the_listeners_zone(api, db):
    user = make_user(timezone="Europe/Stockholm")
    add_gap(user, HISTORY_BEGINS, T)
    add_gap(user, T + HOUR, T + 2 * HOUR)
    add_gap(user, T + 3 * HOUR, T + 4 * HOUR)
    gaps.cover(user.id, T + 3 * HOUR, T + 4 * HOUR)
    add_gap(make_user(), T, T + HOUR)  # someone else's
    body = api.get("/me/gaps", user).body
    assert body["total"] == 2 and "extended streaming history" in body["message"]
    first, second = body["items"]
    assert first["start"] is None and first["since_account_began"] is True
    assert first["end"] == "2026-11-10T13:00:00+01:00"
    assert second == {
        "start": "2026-11-10T14:00:00+01:00",
        "end": "2026-11-10T15:00:00+01:00",
        "since_account_began": False,
        "detected_at": "2026-11-10T16:00:00+01:00",
    }
    empty = api.get("/me/gaps", make_user()).body
    assert empty == {"items": [], "total": 0, "message": "No open gaps."}
