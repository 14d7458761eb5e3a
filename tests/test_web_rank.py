"""The charts page, the rank history on the detail pages and the dashboard's movement markers."""

from __future__ import annotations

import datetime as dt

from models.jobs import charts as chart_jobs
from tests.factories import make_album, make_artist, make_play, make_track, make_user
from tests.webtools import login_as

MONDAY = dt.datetime(2026, 3, 2, 9)
WEEK = dt.timedelta(days=7)


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _listener():
    me = make_user(timezone="UTC")
    band = make_artist(name="The Band")
    record = make_album(name="The Record")
    hit = make_track(name="Hit Song", artists=[band], album=record)
    rival = make_track(name="Rival Song", artists=[band])
    for hours in (0, 1):
        make_play(me, rival, MONDAY + dt.timedelta(hours=hours))
    make_play(me, hit, MONDAY + dt.timedelta(hours=2))
    for hours in (0, 1, 2):
        make_play(me, hit, MONDAY + WEEK + dt.timedelta(hours=hours))
    make_play(me, rival, MONDAY + WEEK + dt.timedelta(hours=3))
    return me, hit, rival, band, record


def test_the_charts_page_of_a_week_with_its_neighbours_and_markers(client, db):
    me, _hit, _rival, band, record = _listener()
    login_as(client, me)
    html = text_of(client.get("/charts", query_string={"week": "2026-03-11"}))
    assert 'id="chart-week">9 Mar 2026<' in html
    tracks = html.split('id="chart-tracks"')[1].split("</ol>")[0]
    assert tracks.index("Hit Song") < tracks.index("Rival Song")
    assert '<span class="move up"' in tracks and '<span class="move down"' in tracks
    assert 'href="/charts?week=2026-03-02"' in html and 'rel="next"' not in html
    assert f'href="/albums/{record.id}"' in html and f'href="/artists/{band.id}"' in html
    first = text_of(client.get("/charts", query_string={"week": "2026-03-02"}))
    assert first.split('id="chart-tracks"')[1].split("</ol>")[0].count('class="move new"') == 2
    assert client.get("/charts", query_string={"week": "last tuesday"}).status_code == 400
    assert client.get("/charts", query_string={"week": "0001-01-01"}).status_code == 400
    latest = text_of(client.get("/charts"))
    assert 'id="chart-week">9 Mar 2026<' in latest and "charts-building" not in latest


def test_a_new_listener_sees_when_charts_will_appear(client, db):
    newcomer = make_user()
    login_as(client, newcomer)
    html = text_of(client.get("/charts"))
    assert 'id="charts-empty"' in html and "hourly sync" in html


def test_detail_pages_show_weeks_in_chart_at_number_one_and_peak(client, db):
    me, hit, _rival, band, record = _listener()
    login_as(client, me)
    html = text_of(client.get(f"/tracks/{hit.id}"))
    assert 'id="chart-weeks">2<' in html and 'id="chart-number-ones">1<' in html
    assert 'id="chart-peak">#1<' in html
    assert html.count('class="rank-dot"') == 2 and 'class="rank-line"' in html
    artist = text_of(client.get(f"/artists/{band.id}"))
    assert 'id="chart-number-ones">2<' in artist
    album = text_of(client.get(f"/albums/{record.id}"))
    assert 'id="chart-weeks">2<' in album
    chart_jobs.queue_build(me.id)  # an upgrade still building them: the pages say so
    assert 'id="charts-building"' in text_of(client.get(f"/tracks/{hit.id}"))
    assert 'id="charts-building"' in text_of(client.get("/charts"))


def test_dashboard_top_lists_mark_movement_against_the_previous_period(client, db):
    me, _hit, _rival, _band, _record = _listener()
    newcomer = make_track(name="Newcomer")
    make_play(me, newcomer, MONDAY + WEEK + dt.timedelta(hours=5))
    login_as(client, me)
    html = text_of(
        client.get("/dashboard", query_string={"from": "2026-03-09", "to": "2026-03-15"})
    )
    top = html.split('id="top-tracks"')[1].split("</ol>")[0]
    assert top.index("Hit Song") < top.index("Rival Song") < top.index("Newcomer")
    assert top.count('class="move up"') == 1 and top.count('class="move down"') == 1
    assert top.count('class="move new"') == 1
    everything = text_of(client.get("/dashboard", query_string={"range": "all"}))
    assert 'class="move' not in everything
