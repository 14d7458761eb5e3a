"""The schema: every table Spotify Tracker keeps, as Peewee models.

Catalogue rows (tracks, albums, artists) are keyed by their Spotify id, so loading the same
recently-played page twice, from two users or two runs, is an upsert and never a lookup.  Plays
are keyed by (user, played_at): Spotify cannot play two tracks to one account at the same
instant, so that pair is what makes re-running any job harmless.

Every timestamp is naive UTC (see ``models.schema.db.utcnow``).  Fields Spotify may withhold (from
development-mode apps, or for unknown ids) are nullable: NULL means "not given", never zero.
"""

from __future__ import annotations

import json

from peewee import (
    SQL,
    AutoField,
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    CompositeKey,
    DateField,
    DateTimeField,
    DoubleField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    NodeList,
    SmallIntegerField,
    SqliteDatabase,
    TextField,
)

from models.schema import crypto
from models.schema.db import db, utcnow


class EncryptedTextField(TextField):
    """Text encrypted with ``models.schema.crypto`` before it reaches the database."""

    def db_value(self, value):
        return None if value is None else crypto.encrypt(value)

    def python_value(self, value):
        return None if value is None else crypto.decrypt(value)


class BaseModel(Model):
    class Meta:
        database = db


class NeverReusedIdField(AutoField):
    """An auto-incrementing id that SQLite never hands out twice (``AUTOINCREMENT``).

    Without it SQLite gives the next row ``max(id) + 1``, so deleting the newest user frees its
    id for the next sign-up, and anything naming that id (an old API token, a session) would
    name the newcomer.  PostgreSQL's sequences never go back, so it is a plain ``SERIAL`` there.
    Migration 060 rebuilds the SQLite table; peewee-migrate sees an ordinary ``AutoField``.
    """

    def ddl(self, ctx):
        node = super().ddl(ctx)
        database = self.model._meta.database
        if isinstance(getattr(database, "obj", database), SqliteDatabase):
            return NodeList((node, SQL("AUTOINCREMENT")))
        return node


class User(BaseModel):
    """A listener (logged in with Spotify) or the admin (email and password)."""

    id = NeverReusedIdField()
    spotify_id = CharField(max_length=128, unique=True)
    # Spotify's stable account id (2026); returning users are matched by it when present.
    account_id = CharField(max_length=128, null=True, unique=True)
    display_name = TextField(null=True)
    email = CharField(max_length=320, null=True)
    country = CharField(max_length=2, null=True)
    product = CharField(max_length=32, null=True)
    image_url = TextField(null=True)
    is_admin = BooleanField(default=False)
    password_hash = TextField(null=True)
    timezone = CharField(max_length=64, default="UTC")
    created_at = DateTimeField(default=utcnow)
    # Sync state: the played_at of the newest stored play is the `after` cursor of the next run.
    last_played_at = DateTimeField(null=True)
    last_synced_at = DateTimeField(null=True)
    needs_reauth = BooleanField(default=False)
    reauth_reason = TextField(null=True)
    # Set when Spotify asked us to wait longer than a run may sleep (429 with a long Retry-After).
    sync_deferred_until = DateTimeField(null=True)
    # Raised by "revoke all API tokens": a token carries the value it was issued under.
    token_epoch = IntegerField(default=0)
    # A session cookie from before server-side sessions may still log in (accounts that existed
    # at migration 060, until their first logout): ``models.accounts.sessions.upgrade_legacy``.
    legacy_cookies = BooleanField(default=False)

    def __str__(self):
        return self.display_name or self.spotify_id

    class Meta:
        table_name = "user"


class OAuthToken(BaseModel):
    """The Spotify grant of one user. Both tokens are encrypted at rest."""

    user = ForeignKeyField(User, primary_key=True, backref="oauth_token", on_delete="CASCADE")
    access_token = EncryptedTextField(null=True)
    refresh_token = EncryptedTextField()
    expires_at = DateTimeField(null=True)
    scope = TextField(default="")
    # Refresh tokens die about six months after login: the page warns before that happens.
    granted_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "oauth_token"


class Album(BaseModel):
    id = CharField(max_length=64, primary_key=True)
    name = TextField()
    album_type = CharField(max_length=32, null=True)
    release_date = CharField(max_length=10, null=True)
    release_date_precision = CharField(max_length=5, null=True)
    total_tracks = IntegerField(null=True)
    image_url = TextField(null=True)
    popularity = IntegerField(null=True)
    # Export listening (issue 16): an album named by a privacy export only, until Spotify's
    # own album for its tracks arrives (``models.ingest.provisional``).
    provisional = BooleanField(default=False)

    class Meta:
        table_name = "album"


class Artist(BaseModel):
    id = CharField(max_length=64, primary_key=True)
    name = TextField()
    popularity = IntegerField(null=True)
    followers = IntegerField(null=True)
    image_url = TextField(null=True)
    # NULL: a stub known only from a track; the ETL's artist step fills details and genres.
    details_fetched_at = DateTimeField(null=True)
    # Export listening (issue 16): an artist named by a privacy export only, never asked of
    # Spotify; its tracks move to Spotify's artists when the ETL completes them.
    provisional = BooleanField(default=False)

    class Meta:
        table_name = "artist"


class Genre(BaseModel):
    name = CharField(max_length=255, unique=True)

    class Meta:
        table_name = "genre"


class ArtistGenre(BaseModel):
    artist = ForeignKeyField(Artist, backref="genre_links", on_delete="CASCADE")
    genre = ForeignKeyField(Genre, backref="artist_links", on_delete="CASCADE")

    class Meta:
        table_name = "artist_genre"
        primary_key = CompositeKey("artist", "genre")
        indexes = ((("genre",), False),)


class Track(BaseModel):
    id = CharField(max_length=64, primary_key=True)
    name = TextField()
    album = ForeignKeyField(Album, null=True, backref="tracks", on_delete="SET NULL")
    duration_ms = IntegerField(null=True)
    explicit = BooleanField(null=True)
    popularity = IntegerField(null=True)
    isrc = CharField(max_length=32, null=True)
    track_number = IntegerField(null=True)
    disc_number = IntegerField(null=True)
    # NULL: a stub from an import (id and names only); the ETL's track step completes it.
    metadata_fetched_at = DateTimeField(null=True)
    # Export listening (issue 16): a local file of one listener's (``LocalTrack``), known by
    # its names only: never asked of Spotify, never matched to a catalogue track.
    is_local = BooleanField(default=False)

    class Meta:
        table_name = "track"


class TrackArtist(BaseModel):
    """An artist credited on a track, in Spotify's order; the first (``LEAD_POSITION``) leads.

    The lead artist's genres are the track's (a featured guest's would mostly be noise) and an
    album's artists are its tracks' leads: summaries, statistics and SQL all use the constant.
    """

    track = ForeignKeyField(Track, backref="artist_links", on_delete="CASCADE")
    artist = ForeignKeyField(Artist, backref="track_links", on_delete="CASCADE")
    position = IntegerField(default=0)

    class Meta:
        table_name = "track_artist"
        primary_key = CompositeKey("track", "artist")
        indexes = ((("artist",), False),)


LEAD_POSITION = 0  # TrackArtist.position of a track's lead artist


AUDIO_FEATURE_NAMES = (
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "duration_ms",
    "time_signature",
)


class AudioFeatures(BaseModel):
    """Spotify's 13 audio features of a track, or why there are none.

    ``status`` is ``ok``, ``missing`` (Spotify answered null for the id) or ``forbidden`` (the
    app may not read audio features, as development-mode apps since November 2024); a row exists
    either way so that a track is asked for once.
    """

    track = ForeignKeyField(Track, primary_key=True, backref="audio_features", on_delete="CASCADE")
    status = CharField(max_length=16, default="ok")
    danceability = FloatField(null=True)
    energy = FloatField(null=True)
    key = IntegerField(null=True)
    loudness = FloatField(null=True)
    mode = IntegerField(null=True)
    speechiness = FloatField(null=True)
    acousticness = FloatField(null=True)
    instrumentalness = FloatField(null=True)
    liveness = FloatField(null=True)
    valence = FloatField(null=True)
    tempo = FloatField(null=True)
    duration_ms = IntegerField(null=True)
    time_signature = IntegerField(null=True)
    fetched_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "audio_features"


PLAY_SOURCES = ("api", "import")
# Export listening (issue 16): the device families ``models.imports.listening.device_family``
# sorts the export's ``platform`` into (docs/history-import.md has the rules).
DEVICE_FAMILIES = ("phone", "desktop", "web player", "speaker", "tv", "car", "console", "other")
HOW_YOU_LISTEN = (
    "skipped",
    "shuffle",
    "offline",
    "reason_start",
    "reason_end",
    "platform",
    "device",
    "conn_country",
)


class _HowYouListen(BaseModel):
    """How a stream was listened to, as the extended export tells (issue 16); all NULL where
    nothing said (the API sends none of it, nor do account-data files).  ``platform`` is the
    export's text as given, ``device`` its family (one of ``DEVICE_FAMILIES``)."""

    skipped = BooleanField(null=True)
    shuffle = BooleanField(null=True)
    offline = BooleanField(null=True)
    reason_start = CharField(max_length=32, null=True)
    reason_end = CharField(max_length=32, null=True)
    platform = TextField(null=True)
    device = CharField(max_length=16, null=True)
    conn_country = CharField(max_length=2, null=True)


class Play(_HowYouListen):
    """One listen: a track played to one user at one instant (UTC), 30 s or more."""

    id = BigAutoField()
    user = ForeignKeyField(User, backref="plays", on_delete="CASCADE")
    track = ForeignKeyField(Track, backref="plays")
    played_at = DateTimeField()
    ms_played = IntegerField()
    context_uri = TextField(null=True)
    source = CharField(max_length=8, default="api")

    class Meta:
        table_name = "play"
        indexes = (
            (("user", "played_at"), True),
            (("user", "track", "played_at"), False),
            (("track",), False),
        )


# --- Export listening (issue 16, branch export): streams the privacy export holds besides
# music plays.  None of them reaches the music summaries or statistics.


class LocalTrack(BaseModel):
    """The names of a local file one listener played (``Track.is_local``): its track row's id
    is derived from the listener and the names, so it is theirs alone and goes with them."""

    track = ForeignKeyField(Track, primary_key=True, backref="local_file", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="local_tracks", on_delete="CASCADE")
    artist_name = TextField(null=True)
    album_name = TextField(null=True)

    class Meta:
        table_name = "local_track"
        indexes = ((("user",), False),)


class ShortStream(_HowYouListen):
    """A music stream under 30 s (a skip): not a play, kept on its own (plays count from 30 s)."""

    id = BigAutoField()
    user = ForeignKeyField(User, backref="short_streams", on_delete="CASCADE")
    track = ForeignKeyField(Track, backref="short_streams")
    played_at = DateTimeField()
    ms_played = IntegerField()
    source = CharField(max_length=8, default="import")

    class Meta:
        table_name = "short_stream"
        indexes = (
            (("user", "played_at", "track"), True),
            (("track",), False),
        )


class Show(BaseModel):
    """A podcast.  Exports name shows but give no id, so ``id`` derives from the folded name."""

    id = CharField(max_length=64, primary_key=True)
    name = TextField()

    class Meta:
        table_name = "show"


class Episode(BaseModel):
    """A podcast episode.  ``id`` derives from show and episode names (account-data files
    carry no URI); ``uri`` is Spotify's when an extended entry gave it."""

    id = CharField(max_length=64, primary_key=True)
    name = TextField()
    show = ForeignKeyField(Show, backref="episodes", on_delete="CASCADE")
    uri = CharField(max_length=64, null=True)

    class Meta:
        table_name = "episode"
        indexes = ((("show",), False),)


class Audiobook(BaseModel):
    id = CharField(max_length=64, primary_key=True)  # Spotify's id, from audiobook_uri
    name = TextField()

    class Meta:
        table_name = "audiobook"


class Chapter(BaseModel):
    id = CharField(max_length=64, primary_key=True)  # Spotify's id, from audiobook_chapter_uri
    name = TextField()
    audiobook = ForeignKeyField(Audiobook, backref="chapters", on_delete="CASCADE")

    class Meta:
        table_name = "chapter"
        indexes = ((("audiobook",), False),)


class EpisodePlay(_HowYouListen):
    """A podcast episode streamed (any length: ``ms_played`` says how much)."""

    id = BigAutoField()
    user = ForeignKeyField(User, backref="episode_plays", on_delete="CASCADE")
    episode = ForeignKeyField(Episode, backref="plays")
    played_at = DateTimeField()
    ms_played = IntegerField()

    class Meta:
        table_name = "episode_play"
        indexes = (
            (("user", "played_at", "episode"), True),
            (("episode",), False),
        )


class ChapterPlay(_HowYouListen):
    """An audiobook chapter streamed (any length)."""

    id = BigAutoField()
    user = ForeignKeyField(User, backref="chapter_plays", on_delete="CASCADE")
    chapter = ForeignKeyField(Chapter, backref="plays")
    played_at = DateTimeField()
    ms_played = IntegerField()

    class Meta:
        table_name = "chapter_play"
        indexes = (
            (("user", "played_at", "chapter"), True),
            (("chapter",), False),
        )


# --- end of export listening


class EtlRun(BaseModel):
    """One run of the nightly/hourly job, identified by the date-hour it ran for."""

    hour = DateTimeField(unique=True)
    started_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)
    status = CharField(max_length=16, default="running")
    # "extended", "development" or "unknown": learnt from Spotify's answers, never configured.
    app_mode = CharField(max_length=16, null=True)
    summary = TextField(null=True)

    @property
    def summary_data(self) -> dict:
        return json.loads(self.summary) if self.summary else {}

    class Meta:
        table_name = "etl_run"


class EtlLog(BaseModel):
    """What one step of a run did, for one user (or for all users: ``user`` NULL)."""

    run = ForeignKeyField(EtlRun, backref="logs", on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, backref="etl_logs", on_delete="CASCADE")
    step = CharField(max_length=32)
    status = CharField(max_length=16, default="done")
    new_plays = IntegerField(default=0)
    new_rows = IntegerField(default=0)
    api_calls = TextField(default="{}")
    # 429 answers per endpoint (each also counted in api_calls): the figures /metrics reports
    rate_limited = TextField(default="{}")
    error = TextField(null=True)
    created_at = DateTimeField(default=utcnow)
    # What a step concluded beyond rows, as JSON (the MusicBrainz step: verdicts per kind)
    outcomes = TextField(null=True)

    class Meta:
        table_name = "etl_log"
        indexes = ((("run", "user", "step"), False),)

    @property
    def api_calls_data(self) -> dict:
        return json.loads(self.api_calls) if self.api_calls else {}

    @property
    def rate_limited_data(self) -> dict:
        return json.loads(self.rate_limited) if self.rate_limited else {}

    @property
    def outcomes_data(self) -> dict:
        return json.loads(self.outcomes) if self.outcomes else {}


class SyncGap(BaseModel):
    """A stretch of time whose plays may be lost: more than 50 plays happened between syncs."""

    user = ForeignKeyField(User, backref="sync_gaps", on_delete="CASCADE")
    gap_start = DateTimeField()
    gap_end = DateTimeField()
    detected_at = DateTimeField(default=utcnow)
    # Gaps shown and filled (issue 16, migration 078): set when an import covered the whole
    # gap (models/ingest/gaps.py); NULL while the gap is open.  Shortened gaps keep NULL and
    # move their bounds instead.
    filled_at = DateTimeField(null=True)

    class Meta:
        table_name = "sync_gap"
        indexes = ((("user", "gap_start"), True),)


# Summaries of the plays (models/summaries.py keeps them in step, in the transaction that stores
# the plays).  They are keyed by track only: artists, albums and genres are joined at query time,
# so a stub track completed later by the ETL is summarised right without any rewrite.  Day, month
# and hour buckets are local to ListeningSummary.timezone; every row goes with its user (FK
# cascade; the primary key, led by the user, serves it, so no separate user index).  The track
# id is a plain column: plays already guarantee the track exists, and an FK would make SQLite
# scan these tables whenever any track is deleted.  On SQLite the tables are WITHOUT ROWID
# (migration 010), so reading a user's rows is one range scan of the primary key.


class ListeningSummary(BaseModel):
    """Per user: all-time totals, and the time zone the local-time summaries are bucketed in."""

    user = ForeignKeyField(User, primary_key=True, backref="listening_summary", on_delete="CASCADE")
    timezone = CharField(max_length=64, default="UTC")
    plays = BigIntegerField(default=0)
    ms_played = BigIntegerField(default=0)
    first_played_at = DateTimeField(null=True)
    last_played_at = DateTimeField(null=True)

    class Meta:
        table_name = "listening_summary"


class _TrackSummary(BaseModel):
    user = ForeignKeyField(User, on_delete="CASCADE", index=False)
    track = CharField(max_length=64, column_name="track_id")
    plays = IntegerField()
    ms_played = BigIntegerField()
    first_played_at = DateTimeField()
    last_played_at = DateTimeField()


class TrackTotal(_TrackSummary):
    """Per user and track, all time."""

    # indexed to find who played a track: a track that gets its artists or album later is
    # added to the artist and album summaries of those users (models.summaries.catalogue)
    track = CharField(max_length=64, column_name="track_id", index=True)

    class Meta:
        table_name = "summary_track"
        primary_key = CompositeKey("user", "track")
        # a period's discoveries: the user's rows first played in it (models.stats.discoveries)
        indexes = ((("user", "first_played_at"), False),)


class TrackDay(_TrackSummary):
    """Per user, local day and track."""

    day = DateField()

    class Meta:
        table_name = "summary_track_day"
        primary_key = CompositeKey("user", "day", "track")
        # a track's days, when the catalogue learns its artists, album or features
        indexes = ((("user", "track", "day"), False),)


class TrackMonth(_TrackSummary):
    """Per user, local month (its first day) and track."""

    month = DateField()

    class Meta:
        table_name = "summary_track_month"
        primary_key = CompositeKey("user", "month", "track")
        indexes = ((("user", "track", "month"), False),)


class HourSlot(BaseModel):
    """Per user, local day and local hour (weekday 0 = Monday, stored for the heatmap)."""

    user = ForeignKeyField(User, on_delete="CASCADE", index=False)
    day = DateField()
    hour = SmallIntegerField()
    weekday = SmallIntegerField()
    plays = IntegerField()
    ms_played = BigIntegerField()

    class Meta:
        table_name = "summary_hour"
        primary_key = CompositeKey("user", "day", "hour")


class ContextMonth(BaseModel):
    """Per user, local month and (device family, country, ``reason_end``): the export-covered
    streams of ``models.summaries.listening_context`` (plays and short streams whose entry named
    a device), what ``how_you_listen`` sums.  A country or reason the entry did not give is
    stored as ``NO_COUNTRY`` / ``NO_REASON`` (what the statistic shows for it).  Flags: how
    many streams said true (``*_true``) and how many said anything (``*_told``)."""

    user = ForeignKeyField(User, on_delete="CASCADE", index=False)
    month = DateField()
    device = CharField(max_length=16)
    country = CharField(max_length=2)
    reason_end = CharField(max_length=32)
    streams = IntegerField()
    short_streams = IntegerField()
    ms_played = BigIntegerField()
    skipped_true = IntegerField()
    skipped_told = IntegerField()
    shuffle_true = IntegerField()
    shuffle_told = IntegerField()
    offline_true = IntegerField()
    offline_told = IntegerField()
    first_played_at = DateTimeField()
    last_played_at = DateTimeField()

    class Meta:
        table_name = "summary_context_month"
        primary_key = CompositeKey("user", "month", "device", "country", "reason_end")


class _SkipSummary(BaseModel):
    user = ForeignKeyField(User, on_delete="CASCADE", index=False)
    track = CharField(max_length=64, column_name="track_id")
    streams = IntegerField()  # export-covered streams of the track: plays and short streams
    short_streams = IntegerField()


class SkipMonth(_SkipSummary):
    """Per user, local month and track: export-covered streams and short streams (skips)."""

    month = DateField()

    class Meta:
        table_name = "summary_skip_month"
        primary_key = CompositeKey("user", "month", "track")


class SkipTotal(_SkipSummary):
    """Per user and track, all time: the sums of its ``SkipMonth`` rows."""

    class Meta:
        table_name = "summary_skip"
        primary_key = CompositeKey("user", "track")


class ContextBacklog(BaseModel):
    """A user whose export summaries (``ContextMonth``, ``SkipMonth``, ``SkipTotal``) are still
    to be built from streams stored before they were kept (migration 092 lists them; the
    ``listening_context`` job builds them and removes the row).  While a row exists the
    statistics of skips and how you listen read the raw streams."""

    user = ForeignKeyField(User, primary_key=True, on_delete="CASCADE")
    queued_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "context_backlog"


class _CatalogueSummary(BaseModel):
    user = ForeignKeyField(User, on_delete="CASCADE", index=False)
    plays = IntegerField()
    ms_played = BigIntegerField()
    first_played_at = DateTimeField()
    last_played_at = DateTimeField()


class _ArtistSummary(_CatalogueSummary):
    artist = CharField(max_length=64, column_name="artist_id")
    # plays of tracks the artist leads (credited first): the genres of a track are its lead's
    lead_plays = IntegerField()
    lead_ms_played = BigIntegerField()


class ArtistTotal(_ArtistSummary):
    """Per user and artist, all time: the track totals of the artist's tracks, summed."""

    class Meta:
        table_name = "summary_artist"
        primary_key = CompositeKey("user", "artist")
        indexes = ((("user", "first_played_at"), False),)  # like TrackTotal's


class ArtistMonth(_ArtistSummary):
    """Per user, local month and artist."""

    month = DateField()

    class Meta:
        table_name = "summary_artist_month"
        primary_key = CompositeKey("user", "month", "artist")


class _AlbumSummary(_CatalogueSummary):
    album = CharField(max_length=64, column_name="album_id")


class AlbumTotal(_AlbumSummary):
    """Per user and album, all time."""

    class Meta:
        table_name = "summary_album"
        primary_key = CompositeKey("user", "album")


class AlbumMonth(_AlbumSummary):
    """Per user, local month and album."""

    month = DateField()

    class Meta:
        table_name = "summary_album_month"
        primary_key = CompositeKey("user", "month", "album")


# The audio features of the taste profile (play-weighted averages).
PROFILE_FEATURES = (
    "danceability",
    "energy",
    "valence",
    "acousticness",
    "instrumentalness",
    "speechiness",
    "liveness",
    "tempo",
)
# Why a profile lacks audio features, by ``models.stats.taste_profile``'s ``features_reason``:
# the words the profile page and the API's ``features_message`` both show.
FEATURES_EXPLAINED = {
    "forbidden": "Spotify does not give this app audio features (danceability, energy, tempo…): "
    "it stopped giving them to apps in development mode, without extended access, in November "
    "2024, so their averages are unavailable. Genres still work.",
    "missing": "Spotify has no audio features for these tracks.",
    "pending": "Audio features of these tracks have not been fetched yet; the next hourly sync "
    "fetches them.",
    None: "Audio features are unavailable.",
}


class _FeatureSummary(BaseModel):
    """Plays by the audio-features status of their tracks (ok, missing, forbidden, pending),
    with, per profile feature, the sum of plays × value in millionths (integers, so a track's
    contribution can be taken out exactly when its features change) and the plays counted."""

    user = ForeignKeyField(User, on_delete="CASCADE", index=False)
    status = CharField(max_length=16)
    plays = IntegerField()
    ms_played = BigIntegerField()
    sum_danceability = BigIntegerField()
    n_danceability = IntegerField()
    sum_energy = BigIntegerField()
    n_energy = IntegerField()
    sum_valence = BigIntegerField()
    n_valence = IntegerField()
    sum_acousticness = BigIntegerField()
    n_acousticness = IntegerField()
    sum_instrumentalness = BigIntegerField()
    n_instrumentalness = IntegerField()
    sum_speechiness = BigIntegerField()
    n_speechiness = IntegerField()
    sum_liveness = BigIntegerField()
    n_liveness = IntegerField()
    sum_tempo = BigIntegerField()
    n_tempo = IntegerField()


class FeatureTotal(_FeatureSummary):
    """Per user and features status, all time."""

    class Meta:
        table_name = "summary_features"
        primary_key = CompositeKey("user", "status")


class FeatureMonth(_FeatureSummary):
    """Per user, local month and features status."""

    month = DateField()

    class Meta:
        table_name = "summary_features_month"
        primary_key = CompositeKey("user", "month", "status")


CATALOGUE_SUMMARY_TABLES = (
    ArtistTotal,
    ArtistMonth,
    AlbumTotal,
    AlbumMonth,
    FeatureTotal,
    FeatureMonth,
)
# The export's summaries (models.summaries.listening_context): not music plays' sums.
CONTEXT_SUMMARY_TABLES = (ContextMonth, SkipMonth, SkipTotal)
SUMMARY_TABLES = (
    ListeningSummary,
    TrackTotal,
    TrackDay,
    TrackMonth,
    HourSlot,
    *CATALOGUE_SUMMARY_TABLES,
    *CONTEXT_SUMMARY_TABLES,
)


# --- Weekly charts and exclusions (issue 17, part 2: models/summaries/charts.py and
# exclusions.py, models/jobs/exclusions.py) ----------------------------------------------------

CHART_KINDS = ("track", "artist", "album")
CHART_SIZE = 20  # positions in a weekly chart


class ChartWeek(BaseModel):
    """One position in a user's weekly chart: the top :data:`CHART_SIZE` tracks, artists or
    albums of a local week (Monday first, in ``ListeningSummary.timezone``), ranked by plays,
    then listening time, then name (``models.summaries.charts`` keeps them in step).  The
    primary key reads one week's chart; the index one item's weeks (its page's rank history)."""

    user = ForeignKeyField(User, on_delete="CASCADE", index=False)
    kind = CharField(max_length=8)
    week = DateField()
    item = CharField(max_length=64, column_name="item_id")
    position = SmallIntegerField()
    plays = IntegerField()
    ms_played = BigIntegerField()

    class Meta:
        table_name = "chart_week"
        primary_key = CompositeKey("user", "kind", "week", "item")
        indexes = ((("user", "kind", "item", "week"), False),)


EXCLUSION_KINDS = ("artist", "track")


class Exclusion(BaseModel):
    """An artist or track a listener keeps out of their statistics (white noise, a child's
    music).  The plays stay stored; the summaries leave them out
    (``models.summaries.exclusions``; changed through ``models.jobs.exclusions``)."""

    user = ForeignKeyField(User, backref="exclusions", on_delete="CASCADE", index=False)
    kind = CharField(max_length=8)
    item = CharField(max_length=64, column_name="item_id")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "exclusion"
        primary_key = CompositeKey("user", "kind", "item")


IMPORT_STATUSES = ("checking", "pending", "running", "waiting", "done", "failed", "refused")


class ImportJob(BaseModel):
    """One privacy-export upload being imported for one user (``models.imports.history_import``).

    The job works through the export's counted plays in order, one chunk per transaction, and
    advances ``entries_done`` in the same transaction as the chunk's plays: after a crash the
    next run starts at the first chunk not committed, and a half import is never ``done``.
    ``waiting`` means Spotify asked us to stop calling (search) until ``resume_at``.
    An upload from the page starts ``checking`` (the worker validates the file first) and ends
    ``refused``, with the message in ``error``, if it is not a usable export.
    """

    user = ForeignKeyField(User, backref="import_jobs", on_delete="CASCADE")
    status = CharField(max_length=16, default="pending")
    file_name = TextField()  # as the user named it, for the page
    file_path = TextField()  # the stored copy the job reads (and re-reads when it resumes)
    file_sha256 = CharField(max_length=64)
    file_size = BigIntegerField(default=0)
    entries_total = IntegerField(default=0)  # counted plays in the export
    entries_done = IntegerField(default=0)  # of those, how many are committed
    plays_added = IntegerField(default=0)
    duplicates = IntegerField(default=0)
    unresolved = IntegerField(default=0)
    report = TextField(default="{}")
    error = TextField(null=True)
    resume_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    started_at = DateTimeField(null=True)
    updated_at = DateTimeField(default=utcnow)  # heartbeat: a running job that stops beating died
    finished_at = DateTimeField(null=True)

    class Meta:
        table_name = "import_job"
        indexes = ((("user", "created_at"), False),)

    @property
    def report_data(self) -> dict:
        return json.loads(self.report) if self.report else {}


JOB_STATES = ("queued", "running", "done", "failed")


class Job(BaseModel):
    """One piece of background work, shared by the worker processes (``models.jobs.queue``).

    The listener-facing record of the work (an ``ImportJob`` with its progress) stays where it
    is; this row is only how workers divide the work: what kind, about what (``target``: an
    import job's id, a user's id), how urgent (``priority``, lower first), not before
    ``run_after`` (Spotify's Retry-After, a retry's backoff), and who holds it (``claimed_by``,
    ``heartbeat_at``: a running row whose heartbeat is stale belonged to a dead worker).
    """

    kind = CharField(max_length=32)
    target = CharField(max_length=128)
    payload = TextField(default="{}")
    priority = SmallIntegerField(default=100)
    state = CharField(max_length=16, default="queued")
    run_after = DateTimeField(default=utcnow)
    claimed_by = CharField(max_length=128, null=True)
    heartbeat_at = DateTimeField(null=True)
    attempts = IntegerField(default=0)  # claims since the job last made progress
    last_error = TextField(null=True)
    created_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)

    class Meta:
        table_name = "job"
        indexes = (
            (("state", "priority", "run_after"), False),
            (("kind", "target"), False),
        )

    @property
    def payload_data(self) -> dict:
        return json.loads(self.payload) if self.payload else {}


class LoginSession(BaseModel):
    """One logged-in browser (``models.accounts.sessions``).  The cookie holds a random key;
    only its SHA-256 is stored, so logging out (or out everywhere) deletes the row and a copied
    cookie names nothing any more."""

    key_hash = CharField(max_length=64, primary_key=True)
    user = ForeignKeyField(User, backref="login_sessions", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()

    class Meta:
        table_name = "login_session"
        indexes = ((("expires_at",), False),)


class LoginFailure(BaseModel):
    """Failed password logins counted per key, an account (``account:<email>``) or a client
    address (``address:<ip>``), for the back-off of ``models.accounts.throttle``."""

    key = CharField(max_length=400, primary_key=True)
    failures = IntegerField(default=0)
    last_failed_at = DateTimeField()

    class Meta:
        table_name = "login_failure"
        indexes = ((("last_failed_at",), False),)


class OAuthState(BaseModel):
    """A pending Spotify login's ``state`` data (the PKCE verifier, the redirect URI), kept
    here rather than in the readable session cookie; authlib reads it through
    ``web.auth.StateCache``.  Encrypted like the grants, and deleted once the login returns."""

    key = CharField(max_length=200, primary_key=True)
    value = EncryptedTextField()
    expires_at = DateTimeField()

    class Meta:
        table_name = "oauth_state"
        indexes = ((("expires_at",), False),)


# --- MusicBrainz enrichment (issue 15: models/enrich/, docs/musicbrainz.md) ---------------------
# Beside the Spotify catalogue, one row per track, artist and album the enrichment has looked at:
# what MusicBrainz said (its MBID and the open facts Spotify withholds) and the matcher's verdict.
# The catalogue tables stay Spotify's own.  MusicBrainz genres live beside Spotify's
# (``genre``/``artist_genre`` hold only Spotify's): the two vocabularies are never merged, and
# which an artist shows is one rule, ``models.summaries.shown_genres``.

ENRICHMENT_STATES = ("matched", "unmatched", "ambiguous", "failed")


class _Enrichment(BaseModel):
    """The verdict on one entity: ``matched`` (``mbid`` set), ``unmatched`` (MusicBrainz knows
    nothing that fits), ``ambiguous`` (several fit: a wrong genre is worse than none) or
    ``failed`` (MusicBrainz's answer was unusable).  All but ``matched`` are asked again at
    ``next_try_at``, later after each attempt (``models.enrich.store.backoff``)."""

    mbid = CharField(max_length=36, null=True)
    state = CharField(max_length=16)
    attempts = IntegerField(default=0)
    checked_at = DateTimeField(default=utcnow)
    next_try_at = DateTimeField(null=True)  # NULL: matched, not asked again
    note = TextField(null=True)  # why not matched, for the admin


class TrackEnrichment(_Enrichment):
    """A track's MusicBrainz recording; ``release_year``: the recording's first release."""

    track = ForeignKeyField(Track, primary_key=True, backref="enrichment", on_delete="CASCADE")
    method = CharField(max_length=8, null=True)  # "isrc" or "search": how it was matched
    release_year = SmallIntegerField(null=True)
    # The matched recording's evidence for its artists and album, kept so that those are
    # matched in a later run too (a run may stop between the steps): JSON lists of the credits'
    # [MBID, name] and of its releases' release-group MBIDs.
    credits = TextField(null=True)
    release_groups = TextField(null=True)

    class Meta:
        table_name = "musicbrainz_track"
        indexes = ((("next_try_at",), False),)


class ArtistEnrichment(_Enrichment):
    """An artist's MusicBrainz artist, its type (Person, Group...), country and begin year."""

    artist = ForeignKeyField(Artist, primary_key=True, backref="enrichment", on_delete="CASCADE")
    artist_type = CharField(max_length=32, null=True)
    country = CharField(max_length=2, null=True)
    begin_year = SmallIntegerField(null=True)
    # True once the artist's genres are stored (its details came with them)
    details_fetched = BooleanField(default=False)

    class Meta:
        table_name = "musicbrainz_artist"
        indexes = ((("next_try_at",), False),)


class AlbumEnrichment(_Enrichment):
    """An album's MusicBrainz release group; ``release_year``: the group's first release."""

    album = ForeignKeyField(Album, primary_key=True, backref="enrichment", on_delete="CASCADE")
    primary_type = CharField(max_length=32, null=True)
    release_year = SmallIntegerField(null=True)

    class Meta:
        table_name = "musicbrainz_album"
        indexes = ((("next_try_at",), False),)


class MusicBrainzArtistGenre(BaseModel):
    """A MusicBrainz genre of a matched artist, with its votes; ``rank`` 1 has the most votes
    (ties by name), so "the top few with enough votes" is a filter on two columns."""

    artist = ForeignKeyField(Artist, backref="musicbrainz_genres", on_delete="CASCADE")
    name = CharField(max_length=255)
    votes = IntegerField()
    rank = SmallIntegerField()

    class Meta:
        table_name = "musicbrainz_artist_genre"
        primary_key = CompositeKey("artist", "name")
        indexes = ((("name",), False),)


class MusicBrainzGenreName(BaseModel):
    """MusicBrainz's genre list (``genre/all``, about two thousand names): a tag is a genre when
    its name is here.  Kept so that a run asks for the list's pages once a month, not hourly."""

    name = CharField(max_length=255, primary_key=True)
    fetched_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "musicbrainz_genre_name"


class TrackFacts(BaseModel):
    """What the open-data taste profile groups a track's plays by, read from the catalogue and
    the enrichment as they are now: the decade of its first release (the recording's year, else
    its album's release group's), its lead artist's country and type, its whole minutes and
    length, and whether it is explicit.  One row per track, kept by
    ``models.summaries.track_facts`` in the transaction of every write that moves one of them,
    so the profile joins the user's track summaries to this one table instead of four."""

    track = ForeignKeyField(Track, primary_key=True, backref="facts", on_delete="CASCADE")
    decade = SmallIntegerField(null=True)
    country = CharField(max_length=2, null=True)
    artist_type = CharField(max_length=32, null=True)
    minutes = SmallIntegerField(null=True)
    duration_ms = IntegerField(null=True)
    explicit = BooleanField(null=True)

    class Meta:
        table_name = "track_facts"


class ShownGenre(BaseModel):
    """The genres each artist shows, by the one rule of ``models.summaries.shown_genres``
    (Spotify's where Spotify sent the artist any, else its best-voted MusicBrainz genres): kept
    by the two writers of genres, so every genre statistic joins this table by artist instead
    of re-deriving the rule from ``artist_genre`` and ``musicbrainz_artist_genre`` per request.
    """

    artist = ForeignKeyField(Artist, backref="shown_genres", on_delete="CASCADE")
    source = CharField(max_length=16)
    genre = CharField(max_length=255)

    class Meta:
        table_name = "shown_genre"
        primary_key = CompositeKey("artist", "source", "genre")
        indexes = ((("source", "genre"), False),)


ENRICHMENT_TABLES = (
    TrackEnrichment,
    ArtistEnrichment,
    AlbumEnrichment,
    MusicBrainzArtistGenre,
    MusicBrainzGenreName,
)


# -- MusicBrainz pacing (issue 15): one row per remote service whose rate limit is per machine --
class RateLimit(BaseModel):
    """When the next request to a remote service may start, shared by every process.

    MusicBrainz allows one request per second per source address, so the Luigi workers and the
    background worker take turns through this row (``models.schema.pacing.DatabasePacer``).
    ``next_at`` is in seconds since the epoch, the one clock every process shares.
    """

    service = CharField(max_length=40, primary_key=True)
    next_at = DoubleField(default=0.0)  # epoch seconds: float4 would round them to minutes

    class Meta:
        table_name = "rate_limit"


# --- Sharing (issue 18): opt-in profiles, public links and their rate limit ------------------
# Off by default: a listener without a ``SharingSettings`` row (or with ``visible`` off) never
# appears to anyone but themselves and the admin (``models.accounts.sharing``).
SHARING_SECTIONS = ("totals", "artists", "tracks", "albums", "genres")


class SharingSettings(BaseModel):
    """What one listener shows the other listeners of this instance.  ``periods`` and
    ``sections`` are comma-separated range keys (``models.periods.RANGE_KEYS``) and
    :data:`SHARING_SECTIONS`."""

    user = ForeignKeyField(User, primary_key=True, backref="sharing", on_delete="CASCADE")
    visible = BooleanField(default=False)
    periods = CharField(max_length=64, default="4w,12m,all")
    sections = CharField(max_length=64, default="totals,artists,tracks,albums,genres")
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "sharing_settings"
        indexes = ((("visible",), False),)


class PublicLink(BaseModel):
    """A read-only link to one listener's chosen profile, for anyone who has it.  Only the
    SHA-256 of its random key is stored (like ``LoginSession``); revoking deletes the row."""

    key_hash = CharField(max_length=64, unique=True)
    user = ForeignKeyField(User, backref="public_links", on_delete="CASCADE")
    periods = CharField(max_length=64)
    sections = CharField(max_length=64)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(null=True)  # NULL: until revoked

    class Meta:
        table_name = "public_link"
        indexes = ((("user",), False),)


class LinkHit(BaseModel):
    """Requests to public links in one minute, per key (``link:<id>`` or ``address:<ip>``),
    counted in the database so the limit holds for every process together."""

    key = CharField(max_length=200)
    minute = DateTimeField()
    hits = IntegerField(default=0)

    class Meta:
        table_name = "link_hit"
        primary_key = CompositeKey("key", "minute")
        indexes = ((("minute",), False),)


# --- listening story (issue 17, part 1): sessions (models/summaries/sessions.py) ---------------


class ListeningSession(BaseModel):
    """One listening session: consecutive plays of one user where each next play starts less
    than ``models.summaries.sessions.SESSION_GAP`` after the previous play ended.  Kept in step
    with the plays by ``store_plays``; ``last_played_at`` (the start of its last play) is what
    the incremental update needs to find the plays a new one may join."""

    user = ForeignKeyField(User, on_delete="CASCADE", index=False)
    started_at = DateTimeField()  # the start of its first play
    last_played_at = DateTimeField()
    length_ms = BigIntegerField()  # from the first play's start to the latest end of its plays
    plays = IntegerField()
    ms_played = BigIntegerField()

    class Meta:
        table_name = "listening_session"
        primary_key = CompositeKey("user", "started_at")
        indexes = ((("user", "length_ms"), False),)


class SessionBacklog(BaseModel):
    """A user whose sessions are still to be built from plays stored before they were kept
    (migration 080 lists every listener; the ``sessions`` job builds them and removes the row).
    While a row exists the pages say the sessions are being built."""

    user = ForeignKeyField(User, primary_key=True, on_delete="CASCADE")
    queued_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "session_backlog"


ALL_TABLES = (
    User,
    OAuthToken,
    Album,
    Artist,
    Genre,
    ArtistGenre,
    Track,
    TrackArtist,
    AudioFeatures,
    Play,
    LocalTrack,
    ShortStream,
    Show,
    Episode,
    Audiobook,
    Chapter,
    EpisodePlay,
    ChapterPlay,
    EtlRun,
    EtlLog,
    SyncGap,
    *SUMMARY_TABLES,
    ChartWeek,
    Exclusion,
    ImportJob,
    Job,
    LoginSession,
    LoginFailure,
    OAuthState,
    RateLimit,
    SharingSettings,
    PublicLink,
    LinkHit,
    ListeningSession,
    SessionBacklog,
    ContextBacklog,
    *ENRICHMENT_TABLES,
    TrackFacts,
    ShownGenre,
)
