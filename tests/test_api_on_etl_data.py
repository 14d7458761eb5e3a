"""The API on what the ETL stored from the sandbox Spotify, with both kinds of Spotify app.

A development-mode app gets no popularity and no audio features (issue 9): the API must say
"unknown" (null) and "unavailable", never 0; an extended-quota app's values come through.
"""

from __future__ import annotations

import luigi
import pytest

from models.schema.tables import Play
from tests.etl_world import connect_listener, naive, run_etl


@pytest.mark.parametrize("app_mode", ["development", "extended"])
def test_every_statistic_of_an_etl_run(api, etl, fresh_sandbox, app_mode):
    fresh_sandbox.control(app_mode=app_mode)
    user = connect_listener(fresh_sandbox, fresh_sandbox.listeners()[0]["id"])
    assert run_etl(etl, naive(fresh_sandbox.now())).status == luigi.LuigiStatusCode.SUCCESS
    stored = Play.select().where(Play.user == user.id).count()
    assert stored > 0

    stats = api.get("/me/stats?range=all", user).body
    assert stats["totals"]["plays"] == stored
    assert sum(point["plays"] for point in stats["series"]) == stored
    assert api.get("/me/plays?limit=1", user).body["total"] == stored
    tracks = api.get("/me/tracks?range=all&limit=200", user).body
    assert sum(row["plays"] for row in tracks["items"]) == stored
    artists = api.get("/me/top/artists?range=all&limit=200", user).body["items"]
    profile = api.get("/me/profile?range=all", user).body
    popularity = [row["popularity"] for row in tracks["items"] + artists]
    if app_mode == "development":
        assert set(popularity) == {None}
        assert profile["features"] is None
        assert (profile["features_status"], profile["features_reason"]) == (
            "unavailable",
            "forbidden",
        )
    else:
        assert None not in popularity
        assert profile["features_status"] == "ok"
        assert 0 <= profile["features"]["energy"] <= 1
    assert api.get("/me", user).body["needs_reauth"] is False
