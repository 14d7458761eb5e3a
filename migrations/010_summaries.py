"""Peewee migrations -- 010_summaries.py: per-user summaries of the plays (stats).

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
    class HourSlot(pw.Model):
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', index=False)
        day = pw.DateField()
        hour = pw.SmallIntegerField()
        weekday = pw.SmallIntegerField()
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()

        class Meta:
            table_name = "summary_hour"
            primary_key = pw.CompositeKey('user', 'day', 'hour')

    @migrator.create_model
    class ListeningSummary(pw.Model):
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', primary_key=True)
        timezone = pw.CharField(default='UTC', max_length=64)
        plays = pw.BigIntegerField(default=0)
        ms_played = pw.BigIntegerField(default=0)
        first_played_at = pw.DateTimeField(null=True)
        last_played_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "listening_summary"

    @migrator.create_model
    class TrackDay(pw.Model):
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', index=False)
        track = pw.CharField(column_name='track_id', max_length=64)
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()
        first_played_at = pw.DateTimeField()
        last_played_at = pw.DateTimeField()
        day = pw.DateField()

        class Meta:
            table_name = "summary_track_day"
            primary_key = pw.CompositeKey('user', 'day', 'track')

    @migrator.create_model
    class TrackMonth(pw.Model):
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', index=False)
        track = pw.CharField(column_name='track_id', max_length=64)
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()
        first_played_at = pw.DateTimeField()
        last_played_at = pw.DateTimeField()
        month = pw.DateField()

        class Meta:
            table_name = "summary_track_month"
            primary_key = pw.CompositeKey('user', 'month', 'track')
            indexes = [(('user', 'track', 'month'), False)]

    @migrator.create_model
    class TrackTotal(pw.Model):
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', index=False)
        track = pw.CharField(column_name='track_id', max_length=64)
        plays = pw.IntegerField()
        ms_played = pw.BigIntegerField()
        first_played_at = pw.DateTimeField()
        last_played_at = pw.DateTimeField()

        class Meta:
            table_name = "summary_track"
            primary_key = pw.CompositeKey('user', 'track')


    # On SQLite the summaries are WITHOUT ROWID tables: the primary key (user first) is the
    # table, so a user's rows are one range scan with every column, no look-up per row.  The
    # tables are empty here, so they are simply created again with that option.
    migrator.run(_without_rowid_on_sqlite, migrator, database)


SUMMARY_TABLES = ("summary_hour", "summary_track_day", "summary_track_month", "summary_track")


def _without_rowid_on_sqlite(migrator: Migrator, database: pw.Database):
    engine = getattr(database, "obj", database)
    if not isinstance(engine, pw.SqliteDatabase):
        return
    for name in SUMMARY_TABLES:
        model = migrator.orm[name]
        model._meta.without_rowid = True
        try:
            with model.bind_ctx(engine):
                model.drop_table()
                model.create_table()
        finally:
            model._meta.without_rowid = False


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_model('summary_track')

    migrator.remove_model('summary_track_month')

    migrator.remove_model('summary_track_day')

    migrator.remove_model('listening_summary')

    migrator.remove_model('summary_hour')
