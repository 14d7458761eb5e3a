"""Configuration, read from the environment once and shared by web, API and batch.

Every variable is declared in one table (``VARIABLES``) with its default and its check, so a
missing or invalid setting fails at start-up with one message naming it, and ``.env.example``
and the README table can be checked against the same list.  The names are the ones the
original design used (SECRET_KEY, APP_DB_*, FIRST_ADMIN_* ...), so existing deployments keep
working.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

PROJECT_DIR = Path(__file__).resolve().parent

SPOTIFY_AUTHORIZE_URL = "https://accounts.spotify.com/authorize"
SPOTIFY_TOKEN_URL = "https://accounts.spotify.com/api/token"
SPOTIFY_API_URL = "https://api.spotify.com/v1"
MUSICBRAINZ_BASE_URL = "https://musicbrainz.org/ws/2/"
APP_VERSION = "0.1.0"  # pyproject.toml's; MusicBrainz's User-Agent names it
DEFAULT_SCOPE = "user-read-private user-read-email user-read-recently-played"
ALGORITHMS = ("HS256", "HS384", "HS512")
SECRET_KEY_LENGTH = 32  # the minimum for SECRET_KEY
LEGACY_SECRET_KEY_LENGTH = 16  # the minimum before keys were derived: old keys may be this short
# An API token lives at most 30 days: a leaked one must not open an account for years.
MAX_TOKEN_MINUTES = 30 * 24 * 60
# The admin's password guards every listener's data; scrypt makes each guess dear, length too.
MIN_ADMIN_PASSWORD_LENGTH = 12


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


def _text(value: str) -> str:
    return value


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a positive whole number")
    return number


def _token_minutes(value: str) -> int:
    number = _positive_int(value)
    if number > MAX_TOKEN_MINUTES:
        raise ValueError(f"must be at most {MAX_TOKEN_MINUTES} (30 days)")
    return number


def _proxy_count(value: str) -> int:
    number = int(value)
    if not 0 <= number <= 5:
        raise ValueError("must be the number of reverse proxies in front of the web app (0-5)")
    return number


def _admin_password(value: str) -> str:
    if len(value) < MIN_ADMIN_PASSWORD_LENGTH:
        raise ValueError(f"must be at least {MIN_ADMIN_PASSWORD_LENGTH} characters long")
    return value


def _port(value: str) -> int:
    number = int(value)
    if not 0 < number < 65536:
        raise ValueError("must be a port number (1-65535)")
    return number


def _algorithm(value: str) -> str:
    if value not in ALGORITHMS:
        raise ValueError(f"must be one of {', '.join(ALGORITHMS)}")
    return value


def _url(value: str) -> str:
    parts = urlparse(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return value.rstrip("/")


def _switch(value: str) -> str:
    value = value.strip().lower()
    if value not in ("on", "off", "auto"):
        raise ValueError("must be on, off or auto")
    return value


def _interval(value: str) -> float:
    seconds = float(value)
    if not 0 < seconds <= 60:
        raise ValueError("must be a number of seconds above 0 (at most 60)")
    return seconds


def _metrics_token(value: str) -> str:
    if len(value) < 16:
        raise ValueError("must be at least 16 random characters")
    return value


def _fallbacks(value: str) -> tuple[str, ...]:
    keys = tuple(key.strip() for key in value.split(","))
    if any(len(key) < LEGACY_SECRET_KEY_LENGTH for key in keys):
        raise ValueError(
            f"each old key must be at least {LEGACY_SECRET_KEY_LENGTH} characters "
            "(separate them with commas, no empty entries)"
        )
    return keys


def _connector(value: str) -> str:
    if value not in ("postgresql", "postgres", "sqlite"):
        raise ValueError("must be postgresql or sqlite")
    return "postgresql" if value == "postgres" else value


def _database_url(value: str) -> str:
    if urlparse(value).scheme not in (
        "sqlite",
        "postgres",
        "postgresql",
        "postgresext",
        "postgresqlext",
    ):
        raise ValueError("must be a sqlite:/// or postgresql:// URL")
    return value


@dataclass(frozen=True)
class Variable:
    name: str
    default: str | None
    parse: Callable[[str], object] = _text
    help: str = ""
    secret: bool = False


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "SECRET_KEY",
        None,
        help="The secret every key derives from (session and API token signing, stored "
        "token encryption). At least 32 random characters.",
        secret=True,
    ),
    Variable(
        "SECRET_KEY_FALLBACKS",
        "",
        _fallbacks,
        "Old SECRET_KEY values, comma-separated, still accepted for reading while you rotate.",
        secret=True,
    ),
    Variable("ALGORITHM", "HS256", _algorithm, "JWT signing algorithm for API tokens."),
    Variable(
        "ACCESS_TOKEN_EXPIRE_MINUTES",
        "60",
        _token_minutes,
        "Lifetime of an API token, in minutes (at most 43200, 30 days).",
    ),
    Variable("CLIENT_ID", None, help="Client ID of your Spotify app (or the sandbox's)."),
    Variable("CLIENT_SECRET", None, help="Client secret of your Spotify app.", secret=True),
    Variable(
        "B64_CLIENT",
        "",
        help="Accepted for compatibility only: base64(CLIENT_ID:CLIENT_SECRET), checked if set.",
        secret=True,
    ),
    Variable("OAUTH_AUTHORIZE_URL", SPOTIFY_AUTHORIZE_URL, _url, "Spotify authorize page."),
    Variable("OAUTH_TOKEN_URL", SPOTIFY_TOKEN_URL, _url, "Spotify token endpoint."),
    Variable("SPOTIFY_API_URL", SPOTIFY_API_URL, _url, "Base URL of the Spotify Web API."),
    Variable(
        "REDIRECT_URI",
        "http://127.0.0.1:5000/auth/callback",
        _url,
        "Where Spotify sends the user back; register it in your Spotify app.",
    ),
    Variable("SCOPE", DEFAULT_SCOPE, help="Space-separated Spotify scopes."),
    Variable("DATABASE_URL", "", help="Full database URL; wins over APP_DB_*.", secret=True),
    Variable(
        "APP_DB_CONNECTOR", "", help="postgresql or sqlite; empty means the embedded SQLite file."
    ),
    Variable("APP_DB_USERNAME", "postgres", help="Database user."),
    Variable("APP_DB_PASSWORD", "", help="Database password.", secret=True),
    Variable("APP_DB_HOST", "127.0.0.1", help="Database host (the RDS endpoint in production)."),
    Variable("APP_DB_PORT", "5432", _port, "Database port."),
    Variable("APP_DB_DATABASE", "spotify_tracker", help="Database name (for sqlite: a file path)."),
    Variable(
        "DATA_DIR",
        str(PROJECT_DIR / "data"),
        help="Where the embedded database, ETL targets and uploads live.",
    ),
    Variable("FIRST_ADMIN_ID", "admin", help="Id of the admin account created on migrate."),
    Variable("FIRST_ADMIN_EMAIL", "", help="Admin login email; empty: no admin account."),
    Variable(
        "FIRST_ADMIN_PASSWORD",
        "",
        _admin_password,
        "Admin password (stored hashed only), at least 12 characters.",
        secret=True,
    ),
    Variable(
        "TRUSTED_PROXIES",
        "0",
        _proxy_count,
        "How many reverse proxies in front of the web app set X-Forwarded-For; 0: none, the "
        "client address is the connection's.",
    ),
    Variable(
        "METRICS_TOKEN",
        "",
        _metrics_token,
        "Bearer token Prometheus sends to scrape /metrics; empty: /metrics is off (404).",
        secret=True,
    ),
    Variable(
        "MUSICBRAINZ_BASE_URL",
        MUSICBRAINZ_BASE_URL,
        _url,
        "MusicBrainz's web service (ws/2), or a mirror's, or the sandbox's.",
    ),
    Variable(
        "MUSICBRAINZ_CONTACT",
        "",
        help="A URL or e-mail where MusicBrainz can reach the operator; it goes into the "
        "User-Agent MusicBrainz requires. Required to turn enrichment on.",
    ),
    Variable(
        "MUSICBRAINZ_ENRICHMENT",
        "auto",
        _switch,
        "Genres and open data from MusicBrainz: on, off, or auto (on when MUSICBRAINZ_CONTACT "
        "is set).",
    ),
    Variable(
        "MUSICBRAINZ_MIN_INTERVAL",
        "1",
        _interval,
        "Seconds between two MusicBrainz requests, for the whole machine; at least 1 against "
        "musicbrainz.org.",
    ),
)


@dataclass(frozen=True)
class Settings:
    """The parsed configuration. Build it with :func:`load`; tests pass overrides."""

    secret_key: str = field(repr=False)
    secret_key_fallbacks: tuple[str, ...] = field(repr=False)
    algorithm: str
    access_token_expire_minutes: int
    client_id: str
    client_secret: str = field(repr=False)
    oauth_authorize_url: str
    oauth_token_url: str
    spotify_api_url: str
    redirect_uri: str
    scope: str
    database_url: str = field(repr=False)
    data_dir: Path
    first_admin_id: str
    first_admin_email: str
    first_admin_password: str = field(repr=False)
    metrics_token: str = field(repr=False)
    trusted_proxies: int = 0
    musicbrainz_base_url: str = MUSICBRAINZ_BASE_URL
    musicbrainz_contact: str = ""
    musicbrainz_enrichment: bool = False
    musicbrainz_min_interval: float = 1.0
    version: str = APP_VERSION

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _read(environ: Mapping[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for var in VARIABLES:
        raw = environ.get(var.name)
        if raw is None or raw == "":
            if var.default is None:
                raise ConfigError(f"{var.name} is not set: {var.help}")
            raw = var.default
        if raw == "":
            values[var.name] = ""
            continue
        try:
            values[var.name] = var.parse(raw)
        except ValueError as exc:
            shown = "(hidden)" if var.secret else repr(raw)
            raise ConfigError(f"{var.name}={shown} is invalid: {exc}") from None
    return values


def database_url_from(values: Mapping[str, object]) -> str:
    """DATABASE_URL if given, else one built from APP_DB_*, else the embedded SQLite file."""
    if values["DATABASE_URL"]:
        return _database_url(str(values["DATABASE_URL"]))
    connector = values["APP_DB_CONNECTOR"]
    if not connector:
        return f"sqlite:///{Path(str(values['DATA_DIR'])) / 'spotify_tracker.db'}"
    try:
        connector = _connector(str(connector))
    except ValueError as exc:
        raise ConfigError(f"APP_DB_CONNECTOR={connector!r} is invalid: {exc}") from None
    if connector == "sqlite":
        return f"sqlite:///{values['APP_DB_DATABASE']}"
    user = quote(str(values["APP_DB_USERNAME"]), safe="")
    password = quote(str(values["APP_DB_PASSWORD"]), safe="")
    credentials = f"{user}:{password}" if password else user
    return (
        f"postgresql://{credentials}@{values['APP_DB_HOST']}:{values['APP_DB_PORT']}"
        f"/{values['APP_DB_DATABASE']}"
    )


def load(
    environ: Mapping[str, str] | None = None, *, dotenv: bool = True, **overrides: object
) -> Settings:
    """Read the settings from ``environ`` (default: the process environment plus ``.env``).

    ``overrides`` are keyword names of :class:`Settings` fields, used by tests.
    """
    if environ is None:
        if dotenv:
            from dotenv import load_dotenv

            load_dotenv(PROJECT_DIR / ".env", override=False)
        environ = os.environ
    values = _read(environ)
    try:
        database_url = database_url_from(values)
    except ValueError as exc:
        raise ConfigError(f"DATABASE_URL is invalid: {exc}") from None
    # The original system's name for the Basic credentials.  Both token paths (authlib at login,
    # spotify.client on refresh) derive them from CLIENT_ID/CLIENT_SECRET, so a B64_CLIENT that
    # says otherwise would mean one of the two uses other credentials: refuse it.
    derived = base64.b64encode(f"{values['CLIENT_ID']}:{values['CLIENT_SECRET']}".encode()).decode()
    if values["B64_CLIENT"] and values["B64_CLIENT"] != derived:
        raise ConfigError(
            "B64_CLIENT does not match CLIENT_ID and CLIENT_SECRET (or leave it empty)"
        )
    # Each value has the type its Variable's parser returns, which only that table knows.
    fields: dict[str, Any] = dict(
        secret_key=values["SECRET_KEY"],
        secret_key_fallbacks=values["SECRET_KEY_FALLBACKS"] or (),
        algorithm=values["ALGORITHM"],
        access_token_expire_minutes=values["ACCESS_TOKEN_EXPIRE_MINUTES"],
        client_id=values["CLIENT_ID"],
        client_secret=values["CLIENT_SECRET"],
        oauth_authorize_url=values["OAUTH_AUTHORIZE_URL"],
        oauth_token_url=values["OAUTH_TOKEN_URL"],
        spotify_api_url=values["SPOTIFY_API_URL"],
        redirect_uri=values["REDIRECT_URI"],
        scope=values["SCOPE"],
        database_url=database_url,
        data_dir=Path(str(values["DATA_DIR"])),
        first_admin_id=values["FIRST_ADMIN_ID"],
        first_admin_email=values["FIRST_ADMIN_EMAIL"],
        first_admin_password=values["FIRST_ADMIN_PASSWORD"],
        metrics_token=values["METRICS_TOKEN"],
        trusted_proxies=values["TRUSTED_PROXIES"],
        **_musicbrainz(values),
    )
    fields.update(overrides)
    settings = Settings(**fields)
    _check_secret_key(settings.secret_key)
    return settings


def _musicbrainz(values: Mapping[str, object]) -> dict[str, Any]:
    """The MusicBrainz settings, checked together: enrichment needs a contact (MusicBrainz
    refuses anonymous clients), and musicbrainz.org allows one request per second."""
    contact = str(values["MUSICBRAINZ_CONTACT"]).strip()
    switch = values["MUSICBRAINZ_ENRICHMENT"]
    if switch == "on" and not contact:
        raise ConfigError(
            "MUSICBRAINZ_ENRICHMENT=on needs MUSICBRAINZ_CONTACT: a URL or e-mail where "
            "MusicBrainz can reach you, sent in the User-Agent it requires (or set "
            "MUSICBRAINZ_ENRICHMENT=off)"
        )
    base_url = str(values["MUSICBRAINZ_BASE_URL"])
    interval = float(str(values["MUSICBRAINZ_MIN_INTERVAL"]))
    if interval < 1 and urlparse(base_url).hostname in ("musicbrainz.org", "www.musicbrainz.org"):
        raise ConfigError(
            f"MUSICBRAINZ_MIN_INTERVAL={interval:g} is invalid: musicbrainz.org allows one "
            "request per second (use at least 1, or point MUSICBRAINZ_BASE_URL at a mirror)"
        )
    return dict(
        musicbrainz_base_url=base_url,
        musicbrainz_contact=contact,
        musicbrainz_enrichment=switch == "on" or (switch == "auto" and bool(contact)),
        musicbrainz_min_interval=interval,
    )


def _check_secret_key(secret_key: str) -> None:
    """Refuse a short SECRET_KEY, saying how to replace it without logging anyone out.

    Installs from before the 32-character minimum may have a shorter key; they rotate it (the
    old key moves to SECRET_KEY_FALLBACKS, where it stays readable) instead of starting on it.
    """
    if len(secret_key) < SECRET_KEY_LENGTH:
        raise ConfigError(
            f"SECRET_KEY is too short ({len(secret_key)} characters): use at least "
            f"{SECRET_KEY_LENGTH} random characters. To replace a key in use without logging "
            "anyone out, move it to SECRET_KEY_FALLBACKS and set a new SECRET_KEY "
            '(python -c "import secrets; print(secrets.token_urlsafe(48))"); see '
            "README, Rotating SECRET_KEY"
        )
