"""The OpenAPI 3.1 description of the API, served at ``/openapi.json``.

Written out rather than generated: it is the contract clients (and the schemathesis test that
drives the API from it) rely on, including every parameter's limits and every response's shape.
A test checks that it lists exactly the routes the app has.
"""

from __future__ import annotations

from copy import deepcopy

from chalicelib.params import MAX_LIMIT, MAX_OFFSET, MAX_TEXT
from models.periods import DEFAULT_RANGE, RANGE_KEYS
from models.schema.tables import SHARING_SECTIONS
from models.stats import SORT_KEYS

VERSION = "1.0.0"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema_type: str, **extra) -> dict:
    return {"type": [schema_type, "null"], **extra}


def _array(items: dict, **extra) -> dict:
    return {"type": "array", "items": items, **extra}


def _object(properties: dict, required=None, **extra) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else list(required),
        **extra,
    }


COUNT = {"type": "integer", "minimum": 0}
TIMESTAMP = {"type": "string", "format": "date-time"}
NULLABLE_TIMESTAMP = _nullable("string", format="date-time")
NULLABLE_TEXT = _nullable("string")
SHARE = {"type": "number", "minimum": 0, "maximum": 1}
ARTIST_REF = _object({"id": {"type": "string"}, "name": {"type": "string"}})
SERIES = _array(
    _object(
        {
            "bucket": {
                "type": "string",
                "format": "date",
                "description": "First day of the day, week or month.",
            },
            "plays": COUNT,
            "ms_played": COUNT,
        }
    )
)
GENRE_SOURCE = {
    "enum": ["spotify", "musicbrainz"],
    "description": "Whose genre: Spotify's, or MusicBrainz's where Spotify sent the artist "
    "none (genres from MusicBrainz, CC BY-NC-SA).",
}
POPULARITY = {**_nullable("integer"), "description": "null: Spotify did not say."}


MOVEMENT = {
    "rank": {"type": "integer", "minimum": 1, "description": "Top lists: the row's place."},
    "previous_rank": {
        **_nullable("integer", minimum=1),
        "description": "Top lists: its place in the previous period of the same length "
        "(null: not in that list). Absent for all time.",
    },
    "movement": {
        "enum": ["new", "up", "down", "same"],
        "description": "Top lists: against the previous period. Absent for all time.",
    },
}
CHART_HISTORY = _object(
    {
        "weeks": _array(
            _object(
                {
                    "week": {"type": "string", "format": "date", "description": "Its Monday."},
                    "position": {"type": "integer", "minimum": 1, "maximum": 20},
                    "plays": COUNT,
                }
            )
        ),
        "weeks_in_chart": COUNT,
        "weeks_at_1": COUNT,
        "peak": {**_nullable("integer", minimum=1), "description": "null: never charted."},
        "peak_weeks": COUNT,
    },
    description="The item's positions in your weekly top 20 (Monday to Sunday, your zone).",
)


def _chart_row(id_key: str) -> dict:
    return _object(
        {
            "position": {"type": "integer", "minimum": 1, "maximum": 20},
            id_key: {"type": "string"},
            "name": {"type": "string"},
            "image_url": NULLABLE_TEXT,
            "plays": COUNT,
            "ms_played": COUNT,
            "previous_position": {
                **_nullable("integer", minimum=1),
                "description": "Its position the week before (null: not charted).",
            },
            "movement": {"enum": ["new", "up", "down", "same"]},
            "artists": _array(ARTIST_REF),
        },
        required=["position", id_key, "name", "plays", "ms_played", "movement"],
    )


def _row(id_key: str, **properties) -> dict:
    """A statistics row: an id, a name, what else it has, its plays and listening time
    (and, in the unique lists, its first and last play in the period)."""
    return _object(
        {
            id_key: {"type": "string"},
            "name": {"type": "string"},
            "image_url": NULLABLE_TEXT,
            **properties,
            "plays": COUNT,
            "ms_played": COUNT,
            "first_played_at": TIMESTAMP,
            "last_played_at": TIMESTAMP,
            **MOVEMENT,
        },
        required=[id_key, "name", "plays", "ms_played"],
    )


SCHEMAS = {
    "Error": _object(
        {
            "Code": {"type": "string", "examples": ["BadRequestError"]},
            "Message": {"type": "string"},
            "param": {"type": "string", "description": "The query or form parameter at fault."},
        },
        required=["Code", "Message"],
    ),
    "TokenError": _object(
        {
            "Code": {"type": "string"},
            "Message": {"type": "string"},
            "error": {"enum": ["invalid_request", "unsupported_grant_type", "invalid_grant"]},
            "error_description": {"type": "string"},
            "param": {"type": "string"},
        },
        required=["Code", "Message", "error"],
    ),
    "Token": _object(
        {
            "access_token": {"type": "string"},
            "token_type": {"const": "bearer"},
            "expires_in": {"type": "integer", "minimum": 1},
        }
    ),
    "Health": _object({"status": {"const": "ok"}, "database": {"const": "ok"}}),
    "Period": _object(
        {
            "key": {"type": "string", "description": "7d, 4w, 6m, 12m, all or custom"},
            "label": {"type": "string"},
            "tz": {"type": "string", "description": "The user's IANA time zone."},
            "start": {**NULLABLE_TIMESTAMP, "description": "Inclusive; null for all time."},
            "end": {**TIMESTAMP, "description": "Exclusive."},
            "from": _nullable("string", format="date", description="First local day."),
            "to": _nullable("string", format="date", description="Last local day (inclusive)."),
            "bucket": {"enum": ["day", "week", "month"]},
        }
    ),
    "SpotifyAccess": _object(
        {
            "status": {"enum": ["ok", "reauth_required"]},
            "reason": NULLABLE_TEXT,
            "message": {"type": "string"},
        }
    ),
    "Me": _object(
        {
            "id": {"type": "integer"},
            "spotify_id": {"type": "string"},
            "display_name": NULLABLE_TEXT,
            "email": {**NULLABLE_TEXT, "description": "null when Spotify does not give it."},
            "country": NULLABLE_TEXT,
            "product": NULLABLE_TEXT,
            "image_url": NULLABLE_TEXT,
            "timezone": {"type": "string"},
            "is_admin": {"type": "boolean"},
            "created_at": TIMESTAMP,
            "last_played_at": NULLABLE_TIMESTAMP,
            "last_synced_at": NULLABLE_TIMESTAMP,
            "sync_deferred_until": NULLABLE_TIMESTAMP,
            "needs_reauth": {
                "type": "boolean",
                "description": "Spotify access must be renewed by logging in again.",
            },
            "spotify_access": _ref("SpotifyAccess"),
        }
    ),
    "Play": _object(
        {
            "played_at": TIMESTAMP,
            "track_id": {"type": "string"},
            "name": {"type": "string"},
            "artists": _array(ARTIST_REF),
            "album_id": NULLABLE_TEXT,
            "album_name": NULLABLE_TEXT,
            "image_url": NULLABLE_TEXT,
            "ms_played": COUNT,
            "context_uri": NULLABLE_TEXT,
            "source": {"enum": ["api", "import"]},
        },
        required=["played_at", "track_id", "name", "ms_played"],
    ),
    "TrackRow": _row(
        "track_id",
        artists=_array(ARTIST_REF),
        album_id=NULLABLE_TEXT,
        album_name=NULLABLE_TEXT,
        popularity=POPULARITY,
    ),
    "ArtistRow": _row("artist_id", popularity=POPULARITY),
    "AlbumRow": _row("album_id", artists=_array(ARTIST_REF)),
    "GenreRow": _object(
        {
            "source": GENRE_SOURCE,
            "genre": {"type": "string"},
            "plays": COUNT,
            "ms_played": COUNT,
            "share": SHARE,
            **MOVEMENT,
        },
        required=["source", "genre", "plays", "share"],
    ),
    "Totals": _object(
        {
            "plays": COUNT,
            "ms_played": COUNT,
            "unique_tracks": COUNT,
            "unique_artists": COUNT,
            "unique_albums": COUNT,
        }
    ),
    "Change": _object(
        {
            "difference": {"type": "integer"},
            "ratio": {**_nullable("number"), "description": "null when the previous value was 0."},
        }
    ),
    "Stats": _object(
        {
            "period": _ref("Period"),
            "totals": _ref("Totals"),
            "previous": {
                "oneOf": [
                    {"type": "null"},
                    _object(
                        {
                            "period": _ref("Period"),
                            "totals": _ref("Totals"),
                            "change": {"type": "object", "additionalProperties": _ref("Change")},
                        }
                    ),
                ],
                "description": "The period of the same length just before; null for all time.",
            },
            "series": SERIES,
            "hours": _array(
                _object(
                    {
                        "hour": {"type": "integer", "minimum": 0, "maximum": 23},
                        "plays": COUNT,
                        "ms_played": COUNT,
                    }
                ),
                minItems=24,
                maxItems=24,
            ),
            "weekday_hour": _array(
                _array(COUNT, minItems=24, maxItems=24),
                minItems=7,
                maxItems=7,
                description="7 rows (Monday first) of 24 hourly play counts.",
            ),
        }
    ),
    "Profile": _object(
        {
            "period": _ref("Period"),
            "features": {
                "oneOf": [
                    {"type": "null"},
                    {"type": "object", "additionalProperties": _nullable("number")},
                ],
                "description": "Average audio features; null when unavailable.",
            },
            "features_status": {"enum": ["ok", "partial", "unavailable", "no_data"]},
            "features_reason": {
                "enum": [None, "forbidden", "missing", "pending"],
                "description": "Why some plays lack features: the app may not "
                "read them, Spotify has none, or not fetched yet.",
            },
            "features_message": {"type": "string"},
            "coverage": {
                **_nullable("number", minimum=0, maximum=1),
                "description": "Share of plays whose track has audio features.",
            },
            "genres": _array(
                _object(
                    {
                        "source": GENRE_SOURCE,
                        "genre": {"type": "string"},
                        "plays": COUNT,
                        "share": SHARE,
                    }
                )
            ),
            "open_data": {
                "oneOf": [{"type": "null"}, _ref("OpenProfile")],
                "description": "What open data (MusicBrainz) and Spotify's track objects say "
                "without audio features; null without plays.",
            },
        },
        required=[
            "period",
            "features",
            "features_status",
            "features_message",
            "genres",
            "open_data",
        ],
    ),
    # -- MusicBrainz enrichment (issue 15): the open-data profile and the genre page --
    "OpenProfile": _object(
        {
            "plays": COUNT,
            "decades": _array(
                _object({"decade": {"type": "integer"}, "plays": COUNT, "share": SHARE})
            ),
            "decades_coverage": {**SHARE, "description": "Share of plays with a release year."},
            "countries": _array(
                _object({"country": {"type": "string"}, "plays": COUNT, "share": SHARE})
            ),
            "countries_coverage": SHARE,
            "artist_types": _array(
                _object({"type": {"type": "string"}, "plays": COUNT, "share": SHARE})
            ),
            "artist_types_coverage": SHARE,
            "lengths": _array(
                _object({"length": {"type": "string"}, "plays": COUNT, "share": SHARE})
            ),
            "average_length_ms": _nullable("integer"),
            "explicit_share": {**_nullable("number", minimum=0, maximum=1)},
        }
    ),
    "GenreDetail": _object(
        {
            "period": _ref("Period"),
            "source": GENRE_SOURCE,
            "genre": {"type": "string"},
            "plays": COUNT,
            "ms_played": COUNT,
            "share": {**SHARE, "description": "Share of the period's plays."},
            "artists": _array(_ref("ArtistRow")),
            "tracks": _array(_ref("TrackRow")),
        }
    ),
    "Detail": {
        "type": "object",
        "required": ["name", "plays", "ms_played", "series"],
        "properties": {
            "name": {"type": "string"},
            "image_url": NULLABLE_TEXT,
            "popularity": POPULARITY,
            "followers": _nullable("integer"),
            "plays": COUNT,
            "ms_played": COUNT,
            "first_played_at": NULLABLE_TIMESTAMP,
            "last_played_at": NULLABLE_TIMESTAMP,
            "share": {**SHARE, "description": "Share of all your plays."},
            "series": SERIES,
            "charts": CHART_HISTORY,
        },
    },
    "WeeklyChart": _object(
        {
            "week": {"type": "string", "format": "date", "description": "The week's Monday."},
            "previous_week": {
                **_nullable("string", format="date"),
                "description": "The nearest earlier week with a chart.",
            },
            "next_week": {
                **_nullable("string", format="date"),
                "description": "The nearest later week with a chart.",
            },
            "size": {"type": "integer", "const": 20},
            "tracks": _array(_chart_row("track_id")),
            "artists": _array(_chart_row("artist_id")),
            "albums": _array(_chart_row("album_id")),
            "building": {
                "type": "boolean",
                "description": "Your charts are still being built from plays stored before "
                "them (after an upgrade); weeks appear as they are ready.",
            },
        }
    ),
    "Exclusions": _object(
        {
            "items": _array(
                _object(
                    {
                        "kind": {"enum": ["artist", "track"]},
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "created_at": TIMESTAMP,
                    }
                )
            ),
            "recomputing": {
                "type": "boolean",
                "description": "Your statistics are still being recomputed after a change.",
            },
        }
    ),
    "UserOverview": _object(
        {
            "id": {"type": "integer"},
            "spotify_id": {"type": "string"},
            "display_name": NULLABLE_TEXT,
            "created_at": TIMESTAMP,
            "last_played_at": NULLABLE_TIMESTAMP,
            "last_synced_at": NULLABLE_TIMESTAMP,
            "needs_reauth": {"type": "boolean"},
            "reauth_reason": NULLABLE_TEXT,
            "sync_deferred_until": NULLABLE_TIMESTAMP,
            "plays": COUNT,
        }
    ),
    "EtlRun": _object(
        {
            "id": {"type": "integer"},
            "hour": TIMESTAMP,
            "started_at": TIMESTAMP,
            "finished_at": NULLABLE_TIMESTAMP,
            "status": {"type": "string"},
            "app_mode": {"type": "string", "description": "extended, development or unknown"},
            "summary": {"type": "object"},
            "steps": {
                "type": "object",
                "additionalProperties": COUNT,
                "description": "Number of steps per status.",
            },
        }
    ),
}


def _page_of(item: dict, **extra_properties) -> dict:
    properties = {
        **extra_properties,
        "items": _array(item),
        "total": {
            **_nullable("integer", minimum=0),
            "description": "Items on all pages (null when not counted).",
        },
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        "offset": COUNT,
        "next": {
            **NULLABLE_TEXT,
            "description": "Path and query of the next page; null on the last one.",
        },
    }
    return _object(properties)


SCHEMAS.update(
    {
        "PlayPage": _page_of(_ref("Play"), period=_ref("Period")),
        "TrackPage": _page_of(
            _ref("TrackRow"),
            period=_ref("Period"),
            sort={"type": "string"},
            order={"enum": ["asc", "desc"]},
        ),
        "ArtistPage": _page_of(
            _ref("ArtistRow"),
            period=_ref("Period"),
            sort={"type": "string"},
            order={"enum": ["asc", "desc"]},
        ),
        "AlbumPage": _page_of(
            _ref("AlbumRow"),
            period=_ref("Period"),
            sort={"type": "string"},
            order={"enum": ["asc", "desc"]},
        ),
        "GenrePage": _page_of(_ref("GenreRow"), period=_ref("Period"), kind={"const": "genres"}),
        "TopPage": _page_of(
            {"anyOf": [_ref("TrackRow"), _ref("ArtistRow"), _ref("AlbumRow"), _ref("GenreRow")]},
            period=_ref("Period"),
            kind={"enum": ["tracks", "artists", "albums", "genres"]},
        ),
        "UserPage": _page_of(_ref("UserOverview")),
        "EtlRunPage": _page_of(_ref("EtlRun")),
    }
)

PARAMETERS = {
    "range": {
        "name": "range",
        "in": "query",
        "schema": {"enum": list(RANGE_KEYS)},
        "description": "A period ending today (in your time zone). Default "
        f"{DEFAULT_RANGE} (all for /me/plays); not together with from/to.",
    },
    "from": {
        "name": "from",
        "in": "query",
        "schema": {"type": "string", "format": "date"},
        "description": "First day (YYYY-MM-DD, your time zone), inclusive.",
    },
    "to": {
        "name": "to",
        "in": "query",
        "schema": {"type": "string", "format": "date"},
        "description": "Last day (YYYY-MM-DD, your time zone), inclusive; default today.",
    },
    "limit": {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        "description": f"Items per page (at most {MAX_LIMIT}).",
    },
    "offset": {
        "name": "offset",
        "in": "query",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
        "description": "Items to skip; follow `next` instead of computing it.",
    },
    "sort": {
        "name": "sort",
        "in": "query",
        "schema": {"enum": list(SORT_KEYS)},
        "description": "Order by play count (default), listening time, first or last "
        "play, or name.",
    },
    "order": {
        "name": "order",
        "in": "query",
        "schema": {"enum": ["asc", "desc"]},
        "description": "Default desc (asc when sorting by name).",
    },
    "source": {
        "name": "source",
        "in": "query",
        "schema": {"enum": ["spotify", "musicbrainz"]},
        "description": "Whose genre (as /me/genres lists it).",
    },
    "name": {
        "name": "name",
        "in": "query",
        "schema": {"type": "string", "maxLength": MAX_TEXT},
        "description": "The genre's name (as /me/genres lists it).",
    },
    "q": {
        "name": "q",
        "in": "query",
        "schema": {"type": "string", "maxLength": MAX_TEXT},
        "description": "Only names containing this text (case-insensitive); empty: all.",
    },
}
PARAMETERS["week"] = {
    "name": "week",
    "in": "query",
    "schema": {"type": "string", "format": "date"},
    "description": "Any day of the week (YYYY-MM-DD); default the latest week charted.",
}
PERIOD = ["range", "from", "to"]
PAGE = ["limit", "offset"]


def _error(description: str, schema: str = "Error") -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _ok(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


REAUTH_HEADER_DOC = {
    "X-Spotify-Reauth-Required": {
        "description": "Present (true) when Spotify access must be renewed by logging in again: "
        "stored statistics are still served.",
        "schema": {"const": "true"},
    }
}


UNAVAILABLE = {
    **_error("The database does not answer; retry later."),
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
}


def _operation(
    summary: str,
    schema: dict,
    params=(),
    *,
    auth=True,
    admin=False,
    not_found=False,
    uses_database=True,
    tag="statistics",
) -> dict:
    responses = {"200": _ok(schema)}
    if auth:
        responses["200"]["headers"] = REAUTH_HEADER_DOC
    if params:
        responses["400"] = _error("A parameter is invalid; `param` names it.")
    if auth:
        responses["401"] = _error(
            "Missing, malformed, forged or expired token, or its account was deleted."
        )
    if admin:
        responses["403"] = _error("The token is not the administrator's.")
    if not_found:
        responses["404"] = _error("You never played it, or no such list.")
    # Chalice refuses a request whose Content-Type its route does not read, GETs included.
    responses["415"] = _error("The request's Content-Type is not one this endpoint reads.")
    if uses_database:
        responses["503"] = UNAVAILABLE
    operation = {
        "summary": summary,
        "tags": [tag],
        "responses": responses,
        "parameters": [{"$ref": f"#/components/parameters/{name}"} for name in params],
    }
    if not auth:
        operation["security"] = []
    return operation


def _path_param(name: str, schema: dict) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema}


SPOTIFY_ID = {"type": "string", "pattern": "^[0-9A-Za-z]{1,64}$"}

PATHS = {
    "/health": {
        "get": _operation(
            "The API and its database answer.", _ref("Health"), auth=False, tag="meta"
        )
    },
    "/openapi.json": {
        "get": _operation(
            "This document.", {"type": "object"}, auth=False, uses_database=False, tag="meta"
        )
    },
    "/token": {
        "post": {
            "summary": "OAuth2 password grant for the administrator account.",
            "tags": ["auth"],
            "security": [],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": _object(
                            {
                                "grant_type": {"const": "password"},
                                "username": {"type": "string", "description": "The admin's email."},
                                "password": {"type": "string"},
                            }
                        )
                    }
                },
            },
            "responses": {
                "200": _ok(_ref("Token")),
                "400": _error(
                    "Missing field, unsupported grant or wrong credentials.", "TokenError"
                ),
                "415": _error("The body is not a form."),
                "429": {
                    **_error("Too many failed logins from this address or for this account."),
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                },
                "503": UNAVAILABLE,
            },
        }
    },
    "/me": {
        "get": _operation("Your account, and whether Spotify access must be renewed.", _ref("Me"))
    },
    "/me/plays": {
        "get": _operation(
            "Your plays, newest first (default: all time).", _ref("PlayPage"), PERIOD + PAGE
        )
    },
    "/me/tracks": {
        "get": _operation(
            "The tracks you played, with play count and time.",
            _ref("TrackPage"),
            PERIOD + PAGE + ["sort", "order", "q"],
        )
    },
    "/me/tracks/{track_id}": {
        "get": {
            **_operation(
                "One track you played: plays, time, first and last play, plays over time.",
                _ref("Detail"),
                not_found=True,
            ),
            "parameters": [_path_param("track_id", SPOTIFY_ID)],
        }
    },
    "/me/artists": {
        "get": _operation(
            "The artists you played, with play count and time.",
            _ref("ArtistPage"),
            PERIOD + PAGE + ["sort", "order", "q"],
        )
    },
    "/me/artists/{artist_id}": {
        "get": {
            **_operation(
                "One artist you played: plays, time, first and last play, plays over time.",
                _ref("Detail"),
                not_found=True,
            ),
            "parameters": [_path_param("artist_id", SPOTIFY_ID)],
        }
    },
    "/me/albums": {
        "get": _operation(
            "The albums you played, with play count and time.",
            _ref("AlbumPage"),
            PERIOD + PAGE + ["sort", "order", "q"],
        )
    },
    "/me/albums/{album_id}": {
        "get": {
            **_operation(
                "One album you played: plays, time, first and last play, the album's tracks "
                "you played, plays over time.",
                _ref("Detail"),
                not_found=True,
            ),
            "parameters": [_path_param("album_id", SPOTIFY_ID)],
        }
    },
    "/me/charts": {
        "get": {
            **_operation(
                "Your weekly charts (top 20 tracks, artists, albums of a week, Monday to Sunday "
                "in your time zone; by plays, then time, then name) with movement.",
                _ref("WeeklyChart"),
                ["week"],
            ),
        }
    },
    "/me/exclusions": {
        "get": _operation(
            "The artists and tracks you keep out of your statistics (their plays stay stored).",
            _ref("Exclusions"),
        )
    },
    "/me/exclusions/{kind}/{item_id}": {
        "put": {
            **_operation(
                "Keep an artist's or track's plays out of every statistic (recomputed in the "
                "background: `recomputing` says when done).",
                _ref("Exclusions"),
                ["kind"],
            ),
            "parameters": [
                _path_param("kind", {"enum": ["artist", "track"]}),
                _path_param("item_id", SPOTIFY_ID),
            ],
        },
        "delete": {
            **_operation(
                "Let an excluded artist or track count again.",
                _ref("Exclusions"),
                not_found=True,
            ),
            "parameters": [
                _path_param("kind", {"enum": ["artist", "track"]}),
                _path_param("item_id", SPOTIFY_ID),
            ],
        },
    },
    "/me/genres": {
        "get": _operation(
            "Your genres by plays, with their share.", _ref("GenrePage"), PERIOD + PAGE
        )
    },
    "/me/top/{kind}": {
        "get": {
            **_operation(
                "Your top tracks, artists, albums or genres (default 10).",
                _ref("TopPage"),
                PERIOD + PAGE,
                not_found=True,
            ),
            "parameters": [_path_param("kind", {"enum": ["tracks", "artists", "albums", "genres"]})]
            + [{"$ref": f"#/components/parameters/{name}"} for name in PERIOD + PAGE],
        }
    },
    "/me/stats": {
        "get": _operation(
            "Totals (and the previous period's), time series, hours and weekday x hour.",
            _ref("Stats"),
            PERIOD,
        )
    },
    "/me/profile": {
        "get": _operation(
            "Audio-feature averages (or why they are unavailable) and genre distribution.",
            _ref("Profile"),
            PERIOD,
        )
    },
    "/me/genre": {
        "get": _operation(
            "One genre you played: its artists and tracks (default: all time).",
            _ref("GenreDetail"),
            [*PERIOD, "source", "name"],
            not_found=True,
        )
    },
    "/users": {
        "get": _operation(
            "Listeners with their sync state, newest first (administrator).",
            _ref("UserPage"),
            PAGE,
            admin=True,
            tag="admin",
        )
    },
    "/etl/runs": {
        "get": _operation(
            "ETL runs, newest first (administrator).",
            _ref("EtlRunPage"),
            PAGE,
            admin=True,
            tag="admin",
        )
    },
}

# -- issue 16: what the privacy export tells, and the gaps it fills (api_export_stats.py) ------
SCHEMAS["Gap"] = _object(
    {
        "start": {
            **NULLABLE_TIMESTAMP,
            "description": "After this play; null: since the account began (a first sync).",
        },
        "end": {**TIMESTAMP, "description": "Before this play (the oldest Spotify showed)."},
        "since_account_began": {"type": "boolean"},
        "detected_at": TIMESTAMP,
    }
)
SCHEMAS["Gaps"] = _object(
    {"items": _array(_ref("Gap")), "total": COUNT, "message": {"type": "string"}}
)
NULLABLE_SHARE = _nullable("number", minimum=0, maximum=1)
DAY = {"type": "string", "format": "date"}
FLAG_FIGURES = _object(
    {
        "true": COUNT,
        "told": {**COUNT, "description": "Streams whose export entry said true or false."},
        "share": {**NULLABLE_SHARE, "description": "true / told; null when none told."},
    }
)
SKIP_COUNTS = {
    "short_streams": {**COUNT, "description": "Streams under 30 s: skips."},
    "streams": COUNT,
    "skip_rate": SHARE,
}
SCHEMAS.update(
    {
        "Listening": _object(
            {
                "period": _ref("Period"),
                "coverage": {
                    "anyOf": [
                        _object(
                            {
                                "first_day": DAY,
                                "last_day": DAY,
                                "streams": COUNT,
                                "plays": COUNT,
                                "short_streams": COUNT,
                            }
                        ),
                        {"type": "null"},
                    ],
                    "description": "The first and last local day of the period an extended "
                    "export covers; null: none (the API's plays tell none of this).",
                },
                "streams": COUNT,
                "short_streams": COUNT,
                "skip_rate": {**NULLABLE_SHARE, "description": "Under 30 s / all streams."},
                "skipped_flag": FLAG_FIGURES,
                "shuffle": FLAG_FIGURES,
                "offline": FLAG_FIGURES,
                "reasons_end": _array(
                    _object({"reason": {"type": "string"}, "streams": COUNT, "share": SHARE})
                ),
                "devices": _array(
                    _object(
                        {
                            "device": {"type": "string"},
                            "streams": COUNT,
                            "ms_played": COUNT,
                            "share": SHARE,
                        }
                    )
                ),
                "countries": _array(
                    _object(
                        {
                            "country": {"type": "string", "description": "ZZ: unknown."},
                            "streams": COUNT,
                            "ms_played": COUNT,
                            "share": SHARE,
                        }
                    )
                ),
            }
        ),
        "SkippedTrack": _object(
            {
                "track_id": {"type": "string"},
                "name": NULLABLE_TEXT,
                "artists": _array(ARTIST_REF),
                "album_name": NULLABLE_TEXT,
                "image_url": NULLABLE_TEXT,
                **SKIP_COUNTS,
            },
            required=["track_id", "name", "artists", *SKIP_COUNTS],
        ),
        "SkippedArtist": _object(
            {
                "artist_id": {"type": "string"},
                "name": NULLABLE_TEXT,
                "image_url": NULLABLE_TEXT,
                **SKIP_COUNTS,
            },
            required=["artist_id", "name", *SKIP_COUNTS],
        ),
        "Podcasts": _object(
            {
                "period": _ref("Period"),
                "coverage": {
                    "anyOf": [_object({"first_day": DAY, "last_day": DAY}), {"type": "null"}],
                    "description": "First and last local day with an episode or chapter "
                    "stream; null: no export brought any of this period.",
                },
                "episodes": _object(
                    {
                        "streams": COUNT,
                        "ms_played": COUNT,
                        "shows": COUNT,
                        "episodes": {**COUNT, "description": "Different episodes."},
                        "finished": {**COUNT, "description": "Episodes played to the end."},
                    }
                ),
                "audiobooks": _object(
                    {
                        "streams": COUNT,
                        "ms_played": COUNT,
                        "books": COUNT,
                        "chapters": {**COUNT, "description": "Different chapters."},
                        "finished": {**COUNT, "description": "Chapters played to the end."},
                    }
                ),
            }
        ),
        "ShowRow": _object(
            {
                "show_id": {"type": "string"},
                "name": {"type": "string"},
                "streams": COUNT,
                "ms_played": COUNT,
                "episodes": COUNT,
                "episodes_finished": COUNT,
            }
        ),
        "AudiobookRow": _object(
            {
                "audiobook_id": {"type": "string"},
                "name": {"type": "string"},
                "streams": COUNT,
                "ms_played": COUNT,
                "chapters": COUNT,
                "chapters_finished": COUNT,
            }
        ),
        "FinishedEpisode": _object(
            {
                "episode_id": {"type": "string"},
                "name": {"type": "string"},
                "show_id": {"type": "string"},
                "show_name": {"type": "string"},
                "times": {"type": "integer", "minimum": 1},
                "last_finished_at": TIMESTAMP,
            }
        ),
    }
)
SCHEMAS["SkippedPage"] = _page_of(
    {"anyOf": [_ref("SkippedTrack"), _ref("SkippedArtist")]},
    period=_ref("Period"),
    kind={"enum": ["tracks", "artists"]},
)
SCHEMAS["PodcastPage"] = _page_of(
    {"anyOf": [_ref("ShowRow"), _ref("AudiobookRow"), _ref("FinishedEpisode")]},
    period=_ref("Period"),
    kind={"enum": ["shows", "audiobooks", "finished"]},
)
EXPORT_NOTE = " From imported extended exports only; default period: all time."


def _listed(summary: str, schema: str, kinds: list[str]) -> dict:
    return {
        "get": {
            **_operation(summary + EXPORT_NOTE, _ref(schema), PERIOD + PAGE, not_found=True),
            "parameters": [_path_param("kind", {"enum": kinds})]
            + [{"$ref": f"#/components/parameters/{name}"} for name in PERIOD + PAGE],
        }
    }


PATHS["/me/listening"] = {
    "get": _operation(
        "Skip rate (under 30 s) beside the export's skipped flag and reason_end, shuffle and "
        "offline shares, devices and countries, with the days an export covers." + EXPORT_NOTE,
        _ref("Listening"),
        PERIOD,
    )
}
PATHS["/me/skipped/{kind}"] = _listed(
    "Most-skipped tracks or artists (default 10).", "SkippedPage", ["tracks", "artists"]
)
PATHS["/me/podcasts"] = {
    "get": _operation(
        "Podcast and audiobook totals, never mixed into the music." + EXPORT_NOTE,
        _ref("Podcasts"),
        PERIOD,
    )
}
PATHS["/me/podcasts/{kind}"] = _listed(
    "Top shows or audiobooks by listening time, or the episodes played to the end.",
    "PodcastPage",
    ["shows", "audiobooks", "finished"],
)
PATHS["/me/gaps"] = {
    "get": _operation(
        "Open gaps: intervals whose plays may be missing, until an import fills them.",
        _ref("Gaps"),
    )
}


# --- the listening story (issue 17, part 1): chalicelib/api_story.py ---------------------------
_DAY = {"type": "string", "format": "date"}
_NULLABLE_DAY = _nullable("string", format="date")
_STREAK = _object({"days": COUNT, "first": _NULLABLE_DAY, "last": _NULLABLE_DAY})
_BEST = _nullable(
    "object",
    properties={"key": {"type": ["string", "integer"]}, "plays": COUNT, "ms_played": COUNT},
    required=["key", "plays", "ms_played"],
)
_SESSION = _object(
    {
        "started_at": TIMESTAMP,
        "length_ms": COUNT,
        "plays": COUNT,
        "ms_played": COUNT,
        "tracks": _array(_ref("TrackRow")),
    }
)
_DISCOVERED = _object(
    {
        "tracks": COUNT,
        "artists": COUNT,
        "top_tracks": _array(_ref("TrackRow")),
        "top_artists": _array(_ref("ArtistRow")),
    }
)
_REVIEW_FIGURES = {
    "period": _ref("Period"),
    "totals": {"type": "object", "additionalProperties": COUNT},
    "top_tracks": _array(_ref("TrackRow")),
    "top_artists": _array(_ref("ArtistRow")),
    "top_albums": _array(_ref("AlbumRow")),
    "top_genres": _array(_ref("GenreRow")),
    "top_month": {**_BEST, "description": "key: YYYY-MM, the month with the most listening."},
    "top_weekday": {**_BEST, "description": "key: Monday…Sunday."},
    "top_day": {**_BEST, "description": "key: YYYY-MM-DD."},
    "favourite_hour": {**_BEST, "description": "key: the local hour, 0-23."},
    "active_days": COUNT,
    "longest_streak": _STREAK,
    "longest_session": {"anyOf": [_SESSION, {"type": "null"}]},
    "discoveries": _DISCOVERED,
}
SCHEMAS.update(
    {
        "Story": _object(
            {
                "year": {"type": "integer"},
                "streaks": _object(
                    {
                        "current": _STREAK,
                        "longest": _STREAK,
                        "today": _DAY,
                        "played_today": {"type": "boolean"},
                    }
                ),
                "calendar": _object(
                    {
                        "year": {"type": "integer"},
                        "days": _array(_object({"day": _DAY, "plays": COUNT, "ms_played": COUNT})),
                        "max_ms": COUNT,
                        "active_days": COUNT,
                    }
                ),
                "sessions": _object(
                    {
                        "building": {
                            "type": "boolean",
                            "description": "true: sessions of older plays are still being built.",
                        },
                        "count": COUNT,
                        "median_ms": _nullable("integer", minimum=0),
                        "per_week": _array(
                            _object({"bucket": _DAY, "sessions": COUNT, "length_ms": COUNT})
                        ),
                        "longest": _array(_SESSION),
                    }
                ),
                "discoveries_per_month": _array(
                    _object({"bucket": _DAY, "tracks": COUNT, "artists": COUNT})
                ),
                "rediscover": _array(
                    _object(
                        {
                            "artist_id": {"type": "string"},
                            "name": {"type": "string"},
                            "years": _array(_object({"year": {"type": "integer"}, "rank": COUNT})),
                            "plays": COUNT,
                            "last_played_at": TIMESTAMP,
                        }
                    )
                ),
                "history_months": _nullable("integer", minimum=0),
                "young_history": {
                    "type": "boolean",
                    "description": "Under 3 months of history: import yours to make discoveries "
                    "meaningful.",
                },
            }
        ),
        "Review": _object(
            {
                **_REVIEW_FIGURES,
                "previous": _object(_REVIEW_FIGURES, description="The same days one year earlier."),
                "image": _object(
                    {"svg": {"type": "string"}, "png": {"type": "string"}},
                    description="The web app's addresses of the shareable image (log in there).",
                ),
            }
        ),
    }
)
PARAMETERS["year"] = {
    "name": "year",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1970},
    "description": "A calendar year, up to this one (this year: so far). Default this year.",
}
PATHS.update(
    {
        "/me/story": {
            "get": _operation(
                "Streaks, the year's calendar, sessions, discoveries per month, rediscover.",
                _ref("Story"),
                ["year"],
            )
        },
        "/me/review": {
            "get": _operation(
                "The year in review (a year, or from/to), against the same days a year earlier.",
                _ref("Review"),
                ["year", "from", "to"],
            )
        },
    }
)


# --- Listening together (issue 18): chalicelib/api_sharing.py ---------------------------------

LISTENER = _object(
    {"id": {"type": "integer"}, "name": {"type": "string"}, "image_url": NULLABLE_TEXT}
)
RANGE_LIST = _array({"enum": list(RANGE_KEYS)}, uniqueItems=True)
SECTION_LIST = _array({"enum": list(SHARING_SECTIONS)}, uniqueItems=True)
COMPARED = {
    "type": "object",
    "properties": {
        "track_id": {"type": "string"},
        "artist_id": {"type": "string"},
        "genre": {"type": "string"},
        "source": GENRE_SOURCE,
        "name": {"type": "string"},
        "plays": {**_array(COUNT), "description": "Each listener's plays, in listing order."},
        "shares": {
            **_array(SHARE),
            "description": "The part of each listener's listening it holds.",
        },
        "score": {"type": "number", "minimum": 0, "description": "What the list is ranked by."},
    },
    "required": ["plays", "shares", "score"],
}
SCHEMAS.update(
    {
        "Listener": LISTENER,
        "PublicLink": _object(
            {
                "id": {"type": "integer"},
                "created_at": TIMESTAMP,
                "expires_at": {**NULLABLE_TIMESTAMP, "description": "null: until revoked."},
                "periods": RANGE_LIST,
                "sections": SECTION_LIST,
            }
        ),
        "Sharing": _object(
            {
                "visible": {
                    "type": "boolean",
                    "description": "Visible to the other listeners of this instance.",
                },
                "periods": RANGE_LIST,
                "sections": SECTION_LIST,
                "public_links": _array(_ref("PublicLink")),
            }
        ),
        "SharingListeners": _object(
            {
                "you_share": {"type": "boolean"},
                "items": _array(
                    _object(
                        {
                            "id": {"type": "integer"},
                            "name": {"type": "string"},
                            "image_url": NULLABLE_TEXT,
                            "periods": RANGE_LIST,
                        }
                    )
                ),
            }
        ),
        "SharedProfile": _object(
            {
                "period": _ref("Period"),
                "listener": LISTENER,
                "periods": {**RANGE_LIST, "description": "The periods this listener shares."},
                "sections": SECTION_LIST,
                "totals": _ref("Totals"),
                "artists": _array(_ref("ArtistRow")),
                "tracks": _array(_ref("TrackRow")),
                "albums": _array(_ref("AlbumRow")),
                "genres": _array(_ref("GenreRow")),
            },
            required=["period", "listener", "periods", "sections"],
        ),
        "Affinity": _object(
            {
                "period": _ref("Period"),
                "periods": {**RANGE_LIST, "description": "The periods both of you share."},
                "you": LISTENER,
                "them": LISTENER,
                "score": {"type": "integer", "minimum": 0, "maximum": 100},
                "artist_overlap": {"type": "number", "minimum": 0},
                "track_overlap": {"type": "number", "minimum": 0},
                "shared_artists": _array(COMPARED),
                "shared_tracks": _array(COMPARED),
                "shared_genres": _array(COMPARED),
                "only_you_artists": _array(COMPARED),
                "only_you_tracks": _array(COMPARED),
                "only_them_artists": _array(COMPARED),
                "only_them_tracks": _array(COMPARED),
            }
        ),
        "Blend": _object(
            {
                "period": _ref("Period"),
                "periods": {**RANGE_LIST, "description": "The periods every member shares."},
                "members": _array(LISTENER, description="You first."),
                "mode": {"enum": ["average", "least"]},
                "tracks": _array(COMPARED),
                "artists": _array(COMPARED),
            }
        ),
        "TopListeners": _object(
            {
                "period": _ref("Period"),
                "kind": {"enum": ["track", "artist"]},
                "item": {"type": "object", "properties": {"name": {"type": "string"}}},
                "listeners": _array(
                    _object({"listener": LISTENER, "plays": COUNT, "ms_played": COUNT})
                ),
            }
        ),
        "WeeklyBoard": _object(
            {
                "period": _ref("Period"),
                "board": _array(
                    _object(
                        {
                            "listener": LISTENER,
                            "plays": COUNT,
                            "ms_played": COUNT,
                            "minutes": COUNT,
                        }
                    )
                ),
            }
        ),
    }
)
SHARING_PARAMETERS: dict[str, dict] = {
    "shared_range": {
        "name": "range",
        "in": "query",
        "schema": {"enum": list(RANGE_KEYS)},
        "description": "One of the periods every listener involved shares (default: the "
        "first of them), in your time zone.",
    },
    "with": {
        "name": "with",
        "in": "query",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]{1,10}(,[0-9]{1,10}){0,9}$"},
        "description": "The ids of the listeners to blend with (at most four), comma-separated.",
    },
    "mode": {
        "name": "mode",
        "in": "query",
        "schema": {"enum": ["average", "least"]},
        "description": "Rank by everyone's average share (default) or by the least share.",
    },
    "listener_range": {
        "name": "range",
        "in": "query",
        "schema": {"enum": list(RANGE_KEYS)},
        "description": "A period ending today in your time zone (default all).",
    },
}
PARAMETERS.update(SHARING_PARAMETERS)
NOT_SHARED = _error("No such listener shares here (unknown and private look the same).")
SHARING_FORBIDDEN = _error(
    "The token is the administrator's (not a listener), or comparing needs you to share too."
)
LISTENER_ID = {"type": "string", "pattern": "^[0-9]{1,10}$"}


def _sharing(summary: str, schema: dict, params=(), *, path=None, not_found=False) -> dict:
    operation = _operation(summary, schema, params, tag="sharing")
    operation["responses"]["403"] = SHARING_FORBIDDEN
    if not_found:
        operation["responses"]["404"] = NOT_SHARED
    if path is not None:
        operation["parameters"] = [_path_param(*path), *operation["parameters"]]
    return operation


def _json_body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _changing(summary: str, schema: dict, body: dict, status: str = "200") -> dict:
    operation = _sharing(summary, schema)
    operation["requestBody"] = _json_body(body)
    operation["responses"]["400"] = _error("The body is not valid; `param` names the field.")
    if status != "200":
        operation["responses"][status] = operation["responses"].pop("200")
    return operation


def _revoking() -> dict:
    operation = _sharing(
        "Revoke a public link: it answers 404 at once.",
        {},
        path=("link_id", LISTENER_ID),
    )
    del operation["responses"]["200"]
    operation["responses"]["204"] = {"description": "Revoked.", "headers": REAUTH_HEADER_DOC}
    operation["responses"]["404"] = _error("You have no such public link.")
    return operation


PATHS.update(
    {
        "/me/sharing": {
            "get": _sharing("Your sharing settings and live public links.", _ref("Sharing")),
            "put": _changing(
                "Choose whether the other listeners see you, over which periods and sections.",
                _ref("Sharing"),
                _object(
                    {
                        "visible": {"type": "boolean"},
                        "periods": RANGE_LIST,
                        "sections": SECTION_LIST,
                    }
                ),
            ),
        },
        "/me/sharing/links": {
            "post": _changing(
                "Make a public link; its key is in this answer only.",
                _object(
                    {
                        **SCHEMAS["PublicLink"]["properties"],
                        "key": {"type": "string"},
                        "path": {"type": "string", "description": "On the web app."},
                    }
                ),
                _object(
                    {
                        "periods": RANGE_LIST,
                        "sections": SECTION_LIST,
                        "expires_in_days": _nullable("integer", minimum=1, maximum=366),
                    },
                    required=["periods", "sections"],
                ),
                status="201",
            )
        },
        "/me/sharing/links/{link_id}": {"delete": _revoking()},
        "/listeners": {
            "get": _sharing("The listeners who share their listening.", _ref("SharingListeners"))
        },
        "/listeners/{listener_id}": {
            "get": _sharing(
                "A listener's shared profile: only the periods and sections they chose.",
                _ref("SharedProfile"),
                ["shared_range"],
                path=("listener_id", LISTENER_ID),
                not_found=True,
            )
        },
        "/listeners/{listener_id}/affinity": {
            "get": _sharing(
                "Your affinity with a listener (both share): score, shared and own items.",
                _ref("Affinity"),
                ["shared_range"],
                path=("listener_id", LISTENER_ID),
                not_found=True,
            )
        },
        "/blend": {
            "get": _sharing(
                "The tracks and artists you and up to four listeners who share all played.",
                _ref("Blend"),
                ["with", "shared_range", "mode"],
                not_found=True,
            )
        },
        "/instance/tracks/{track_id}/listeners": {
            "get": _sharing(
                "Who among the listeners who share played a track most.",
                _ref("TopListeners"),
                ["listener_range"],
                path=("track_id", SPOTIFY_ID),
                not_found=True,
            )
        },
        "/instance/artists/{artist_id}/listeners": {
            "get": _sharing(
                "Who among the listeners who share played an artist most.",
                _ref("TopListeners"),
                ["listener_range"],
                path=("artist_id", SPOTIFY_ID),
                not_found=True,
            )
        },
        "/instance/weekly": {
            "get": _sharing(
                "Minutes listened in the last 7 days by each listener who shares.",
                _ref("WeeklyBoard"),
            )
        },
    }
)

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "Spotify Tracker API",
        "version": VERSION,
        "description": "Your Spotify listening statistics as JSON. Send `Authorization: "
        "Bearer <token>` with a token from the web app's account page (or "
        "POST /token for the administrator). Periods are whole days in your "
        "time zone; timestamps carry your UTC offset. Fields Spotify did not "
        "give (e.g. popularity for development-mode apps) are null, not 0. "
        'Every error is JSON: {"Code", "Message"}, with `param` on a 400.',
    },
    "security": [{"bearer": []}],
    "tags": [
        {"name": "statistics"},
        {"name": "sharing"},
        {"name": "admin"},
        {"name": "auth"},
        {"name": "meta"},
    ],
    "paths": PATHS,
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "parameters": PARAMETERS,
        "schemas": SCHEMAS,
    },
}


def document(base_path: str = "") -> dict:
    """The document, its server being where the API is mounted (API Gateway adds a stage)."""
    described = deepcopy(DOCUMENT)
    described["servers"] = [{"url": base_path or "/"}]
    return described
