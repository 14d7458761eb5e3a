"""Peewee migrations -- 001_initial.py.

Some examples (model - class or model name)::

    > Model = migrator.orm['table_name']            # Return model in current state by name
    > Model = migrator.ModelClass                   # Return model in current state by name

    > migrator.sql(sql)                             # Run custom SQL
    > migrator.run(func, *args, **kwargs)           # Run python function with the given args
    > migrator.create_model(Model)                  # Create a model (could be used as decorator)
    > migrator.remove_model(model, cascade=True)    # Remove a model
    > migrator.add_fields(model, **fields)          # Add fields (allow_not_null=True skips default)
    > migrator.change_fields(model, **fields)       # Change fields
    > migrator.remove_fields(model, *field_names, cascade=True)
    > migrator.rename_field(model, old_field_name, new_field_name)
    > migrator.rename_table(model, new_table_name)
    > migrator.add_index(model, *col_names, unique=False)
    > migrator.add_not_null(model, *field_names)
    > migrator.add_default(model, field_name, default)
    > migrator.add_constraint(model, name, sql)
    > migrator.drop_index(model, *col_names)
    > migrator.drop_not_null(model, *field_names)
    > migrator.drop_constraints(model, *constraints)

"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""
    
    @migrator.create_model
    class Album(pw.Model):
        id = pw.CharField(max_length=64, primary_key=True)
        name = pw.TextField()
        album_type = pw.CharField(max_length=32, null=True)
        release_date = pw.CharField(max_length=10, null=True)
        release_date_precision = pw.CharField(max_length=5, null=True)
        total_tracks = pw.IntegerField(null=True)
        image_url = pw.TextField(null=True)
        popularity = pw.IntegerField(null=True)

        class Meta:
            table_name = "album"

    @migrator.create_model
    class Artist(pw.Model):
        id = pw.CharField(max_length=64, primary_key=True)
        name = pw.TextField()
        popularity = pw.IntegerField(null=True)
        followers = pw.IntegerField(null=True)
        image_url = pw.TextField(null=True)
        details_fetched_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "artist"

    @migrator.create_model
    class Genre(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=255, unique=True)

        class Meta:
            table_name = "genre"

    @migrator.create_model
    class ArtistGenre(pw.Model):
        artist = pw.ForeignKeyField(column_name='artist_id', field='id', model=migrator.orm['artist'], on_delete='CASCADE')
        genre = pw.ForeignKeyField(column_name='genre_id', field='id', model=migrator.orm['genre'], on_delete='CASCADE')

        class Meta:
            table_name = "artist_genre"
            primary_key = pw.CompositeKey('artist', 'genre')
            indexes = [(('genre',), False)]

    @migrator.create_model
    class Track(pw.Model):
        id = pw.CharField(max_length=64, primary_key=True)
        name = pw.TextField()
        album = pw.ForeignKeyField(column_name='album_id', field='id', model=migrator.orm['album'], null=True, on_delete='SET NULL')
        duration_ms = pw.IntegerField(null=True)
        explicit = pw.BooleanField(null=True)
        popularity = pw.IntegerField(null=True)
        isrc = pw.CharField(max_length=32, null=True)
        track_number = pw.IntegerField(null=True)
        disc_number = pw.IntegerField(null=True)
        metadata_fetched_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "track"

    @migrator.create_model
    class AudioFeatures(pw.Model):
        track = pw.ForeignKeyField(column_name='track_id', field='id', model=migrator.orm['track'], on_delete='CASCADE', primary_key=True)
        status = pw.CharField(default='ok', max_length=16)
        danceability = pw.FloatField(null=True)
        energy = pw.FloatField(null=True)
        key = pw.IntegerField(null=True)
        loudness = pw.FloatField(null=True)
        mode = pw.IntegerField(null=True)
        speechiness = pw.FloatField(null=True)
        acousticness = pw.FloatField(null=True)
        instrumentalness = pw.FloatField(null=True)
        liveness = pw.FloatField(null=True)
        valence = pw.FloatField(null=True)
        tempo = pw.FloatField(null=True)
        duration_ms = pw.IntegerField(null=True)
        time_signature = pw.IntegerField(null=True)
        fetched_at = pw.DateTimeField()

        class Meta:
            table_name = "audio_features"

    @migrator.create_model
    class EtlRun(pw.Model):
        id = pw.AutoField()
        hour = pw.DateTimeField(unique=True)
        started_at = pw.DateTimeField()
        finished_at = pw.DateTimeField(null=True)
        status = pw.CharField(default='running', max_length=16)
        app_mode = pw.CharField(max_length=16, null=True)
        summary = pw.TextField(null=True)

        class Meta:
            table_name = "etl_run"

    @migrator.create_model
    class User(pw.Model):
        id = pw.AutoField()
        spotify_id = pw.CharField(max_length=128, unique=True)
        account_id = pw.CharField(max_length=128, null=True, unique=True)
        display_name = pw.TextField(null=True)
        email = pw.CharField(max_length=320, null=True)
        country = pw.CharField(max_length=2, null=True)
        product = pw.CharField(max_length=32, null=True)
        image_url = pw.TextField(null=True)
        is_admin = pw.BooleanField(default=False)
        password_hash = pw.TextField(null=True)
        timezone = pw.CharField(default='UTC', max_length=64)
        created_at = pw.DateTimeField()
        last_played_at = pw.DateTimeField(null=True)
        last_synced_at = pw.DateTimeField(null=True)
        needs_reauth = pw.BooleanField(default=False)
        reauth_reason = pw.TextField(null=True)
        sync_deferred_until = pw.DateTimeField(null=True)

        class Meta:
            table_name = "user"

    @migrator.create_model
    class EtlLog(pw.Model):
        id = pw.AutoField()
        run = pw.ForeignKeyField(column_name='run_id', field='id', model=migrator.orm['etl_run'], on_delete='CASCADE')
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], null=True, on_delete='CASCADE')
        step = pw.CharField(max_length=32)
        status = pw.CharField(default='done', max_length=16)
        new_plays = pw.IntegerField(default=0)
        new_rows = pw.IntegerField(default=0)
        api_calls = pw.TextField(default='{}')
        error = pw.TextField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "etl_log"
            indexes = [(('run', 'user', 'step'), False)]

    @migrator.create_model
    class OAuthToken(pw.Model):
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', primary_key=True)
        access_token = pw.TextField(null=True)
        refresh_token = pw.TextField()
        expires_at = pw.DateTimeField(null=True)
        scope = pw.TextField(default='')
        granted_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "oauth_token"

    @migrator.create_model
    class Play(pw.Model):
        id = pw.BigAutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE')
        track = pw.ForeignKeyField(column_name='track_id', field='id', model=migrator.orm['track'])
        played_at = pw.DateTimeField()
        ms_played = pw.IntegerField()
        context_uri = pw.TextField(null=True)
        source = pw.CharField(default='api', max_length=8)

        class Meta:
            table_name = "play"
            indexes = [(('user', 'played_at'), True), (('user', 'track', 'played_at'), False), (('track',), False)]

    @migrator.create_model
    class SyncGap(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE')
        gap_start = pw.DateTimeField()
        gap_end = pw.DateTimeField()
        detected_at = pw.DateTimeField()

        class Meta:
            table_name = "sync_gap"
            indexes = [(('user', 'gap_start'), True)]

    @migrator.create_model
    class TrackArtist(pw.Model):
        track = pw.ForeignKeyField(column_name='track_id', field='id', model=migrator.orm['track'], on_delete='CASCADE')
        artist = pw.ForeignKeyField(column_name='artist_id', field='id', model=migrator.orm['artist'], on_delete='CASCADE')
        position = pw.IntegerField(default=0)

        class Meta:
            table_name = "track_artist"
            primary_key = pw.CompositeKey('track', 'artist')
            indexes = [(('artist',), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_model('track_artist')

    migrator.remove_model('sync_gap')

    migrator.remove_model('play')

    migrator.remove_model('oauth_token')

    migrator.remove_model('etl_log')

    migrator.remove_model('user')

    migrator.remove_model('etl_run')

    migrator.remove_model('audio_features')

    migrator.remove_model('track')

    migrator.remove_model('artist_genre')

    migrator.remove_model('genre')

    migrator.remove_model('artist')

    migrator.remove_model('album')
