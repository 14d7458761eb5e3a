"""The core of sharing (models.accounts.sharing, models.stats.together) on both engines:
private by default, affinity and blends by their documented formulas, equal from summaries
and from the raw plays, public links and their limit."""

from __future__ import annotations

import datetime as dt

import pytest

from models import stats
from models.accounts import sharing
from models.accounts.users import delete_user
from models.schema.tables import LinkHit, PublicLink, SharingSettings
from models.stats import together
from tests.factories import make_play
from tests.week_world import T, World

ALL = ("7d", "4w", "6m", "12m", "all")


def share(user, periods=ALL, sections=("totals", "artists", "tracks", "albums", "genres")):
    return sharing.update(user, True, periods, sections)


@pytest.fixture
def world(db):
    return World()


def test_a_private_listener_looks_unknown_until_they_opt_in(world):
    errors = []
    for listener_id in (world.bob.id, 10**9, -1, "x"):
        with pytest.raises(together.NotShared) as caught:
            together.listener_profile(world.ada, listener_id, "all")
        errors.append(str(caught.value))
    assert len(set(errors)) == 1
    assert sharing.settings_of(world.ada.id).visible is False
    assert sharing.visible_ids() == set()
    with pytest.raises(together.NotShared):
        together.listener_profile(world.bob, world.ada.id, "all")
    share(world.ada)
    assert sharing.visible_ids() == {world.ada.id}
    profile = together.listener_profile(world.bob, world.ada.id, "all")
    assert profile["totals"]["plays"] == 9
    sharing.update(world.ada, False, ALL, ["totals"])
    with pytest.raises(together.NotShared):
        together.listener_profile(world.bob, world.ada.id, "all")


def test_a_profile_shows_only_the_chosen_periods_and_sections(world):
    share(world.ada, periods=["all"], sections=["artists"])
    profile = together.listener_profile(world.bob, world.ada.id)
    assert profile["period"].key == "all" and profile["sections"] == ["artists"]
    assert "totals" not in profile and "tracks" not in profile
    assert [row["name"] for row in profile["artists"]] == ["Xenia", "Yusuf"]
    with pytest.raises(sharing.SharingError) as caught:
        together.listener_profile(world.bob, world.ada.id, "4w")
    assert caught.value.param == "range"


def overlap_by_hand(first: dict, second: dict) -> float:
    first_total, second_total = sum(first.values()), sum(second.values())
    return sum(
        min(first[key] / first_total, second[key] / second_total)
        for key in first.keys() & second.keys()
    )


def test_affinity_follows_its_formula(world):
    share(world.ada)
    share(world.bob)
    result = together.affinity(world.ada, world.bob.id, "all")
    # all time: Ada one 5, two 2, three 2; Bob three 5, four 1.
    tracks = overlap_by_hand({"one": 5, "two": 2, "three": 2}, {"three": 5, "four": 1})
    # artists (a play counts for each credit): Ada X 7, Y 4; Bob Y 6.
    artists = overlap_by_hand({"x": 7, "y": 4}, {"y": 6})
    assert result["track_overlap"] == pytest.approx(round(tracks, 4))
    assert result["artist_overlap"] == pytest.approx(round(artists, 4))
    assert result["score"] == round(100 * (0.6 * artists + 0.4 * tracks))
    assert [row["name"] for row in result["shared_tracks"]] == ["Three"]
    assert result["shared_tracks"][0]["plays"] == [2, 5]
    assert [row["name"] for row in result["only_you_tracks"]] == ["One", "Two"]
    assert [row["name"] for row in result["only_them_tracks"]] == ["Four"]
    assert [row["name"] for row in result["only_you_artists"]] == ["Xenia"]
    with stats.from_raw_plays():
        raw = together.affinity(world.ada, world.bob.id, "all")
    assert raw == result


def test_comparing_needs_both_to_share_and_a_common_period(world):
    share(world.bob)
    with pytest.raises(together.NotOptedIn):
        together.affinity(world.ada, world.bob.id, "all")
    share(world.ada, periods=["4w"])
    sharing.update(world.bob, True, ["all"], ["totals"])
    with pytest.raises(sharing.SharingError) as caught:
        together.affinity(world.ada, world.bob.id)
    assert "no period in common" in caught.value.message


def test_a_blend_ranks_what_everyone_played_by_average_or_least(world):
    carol = World().ada  # a second world: Carol plays like Ada, on her own tracks
    make_play(carol, world.three, T(2026, 3, 3, 9))
    make_play(carol, world.one, T(2026, 3, 3, 10))
    for listener in (world.ada, world.bob, carol):
        share(listener)
    average = together.blend(world.ada, [world.bob.id, carol.id], "all", "average")
    assert [row["name"] for row in average["tracks"]] == ["Three"]
    three = average["tracks"][0]
    assert three["plays"] == [2, 5, 1]
    assert three["score"] == pytest.approx(sum(three["shares"]) / 3)
    with stats.from_raw_plays():
        assert together.blend(world.ada, [world.bob.id, carol.id], "all", "average") == average
    least = together.blend(world.ada, [world.bob.id, carol.id], "all", "least")
    assert least["tracks"][0]["score"] == pytest.approx(min(three["shares"]))
    assert [row["name"] for row in least["artists"]] == ["Yusuf"]
    with pytest.raises(sharing.SharingError):
        together.blend(world.ada, [world.bob.id] * 2 + list(range(10**6, 10**6 + 4)), "all")
    with pytest.raises(together.NotShared):
        together.blend(world.ada, [world.bob.id, 10**9], "all")


def test_boards_list_only_listeners_who_share(world):
    share(world.bob)
    listeners = together.top_listeners(world.ada, "track", world.three.id, "all")
    assert [row["listener"]["id"] for row in listeners["listeners"]] == [world.bob.id]
    share(world.ada)
    listeners = together.top_listeners(world.ada, "artist", world.y.id, "all")
    assert [(row["listener"]["id"], row["plays"]) for row in listeners["listeners"]] == [
        (world.bob.id, 6),
        (world.ada.id, 4),
    ]
    assert listeners["item"]["name"] == "Yusuf"
    nobody = together.top_listeners(world.ada, "track", "nosuchtrack", "all")
    assert (nobody["item"], nobody["listeners"]) == (None, [])


def test_the_weekly_board_counts_minutes_of_the_last_seven_days(world):
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    make_play(world.bob, world.three, now - dt.timedelta(hours=1))
    make_play(world.ada, world.one, now - dt.timedelta(days=30))
    share(world.ada)
    share(world.bob)
    board = together.weekly_board(world.ada)["board"]
    with stats.from_raw_plays():
        assert together.weekly_board(world.ada)["board"] == board
    assert [(row["listener"]["id"], row["minutes"]) for row in board] == [
        (world.bob.id, 5),
        (world.ada.id, 0),
    ]


def test_public_links_are_stored_hashed_revocable_expire_and_are_limited(world):
    now = dt.datetime(2026, 3, 10, 12)
    link, key = sharing.create_link(world.ada, ["all"], ["tracks"], 7, now=now)
    assert key not in PublicLink.get_by_id(link.id).key_hash
    assert sharing.link_of(key, now=now).id == link.id
    assert sharing.link_of(key, now=now + dt.timedelta(days=7)) is None
    assert sharing.link_of(key + "x", now=now) is None
    assert not sharing.revoke_link(world.bob.id, link.id)  # not Bob's to revoke
    assert sharing.revoke_link(world.ada.id, link.id)
    assert sharing.link_of(key, now=now) is None
    with pytest.raises(sharing.SharingError) as caught:
        sharing.create_link(world.ada, ["all"], ["tracks"], 0, now=now)
    assert caught.value.param == "expires_in_days"
    # the limit: every request of the minute counts, per link and per address
    now = dt.datetime(2026, 3, 10, 12, 0, 30)
    keys = ["link:1", sharing.address_limit_key("192.0.2.7")]
    for _ in range(sharing.LINK_LIMIT):
        sharing.count_request(keys, now=now)
    with pytest.raises(sharing.LinkRateLimited) as limited:
        sharing.count_request(keys, now=now)
    assert limited.value.resets_in == 30
    sharing.count_request(keys, now=now + dt.timedelta(minutes=1))  # a new minute


def test_deleting_an_account_removes_its_sharing_and_the_export_has_it(world):
    from models.accounts import export

    share(world.ada, periods=["all"])
    sharing.create_link(world.ada, ["all"], ["totals"])
    sharing.count_request(["link:1"])
    exported = sharing.export_of(world.ada)
    assert exported["visible"] is True and exported["periods"] == ["all"]
    assert len(exported["public_links"]) == 1 and "key_hash" not in exported["public_links"][0]
    head = next(export.export_json(world.ada))
    assert '"sharing": {"visible": true' in head
    delete_user(world.ada)
    assert SharingSettings.select().count() == 0 and PublicLink.select().count() == 0
    assert LinkHit.select().count() == 1  # counts name no listener, and go within minutes
