"""The OpenAPI 3.1 description of the API, served at ``/openapi.json``.

Written out rather than generated: it is the contract clients (and the schemathesis test that
drives the API from it) rely on, including every parameter's limits and every response's shape.
A test checks that it lists exactly the routes the app has.
"""

from __future__ import annotations

from copy import deepcopy

from chalicelib.params import MAX_LIMIT, MAX_OFFSET, MAX_TEXT
from models.periods import DEFAULT_RANGE, RANGE_KEYS
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
        },
    },
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
    "tags": [{"name": "statistics"}, {"name": "admin"}, {"name": "auth"}, {"name": "meta"}],
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
