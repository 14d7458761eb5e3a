"""Peewee migrations -- 090_sharing.py: opt-in sharing between listeners (issue 18).

- ``sharing_settings``: per listener, whether the other listeners of the instance may see them,
  over which periods and which sections; no row means "not shared" (the default).
- ``public_link``: a listener's read-only public links, only the SHA-256 of each key stored.
- ``link_hit``: requests to public links per key and minute, the limit every process shares.

Only new tables: no existing table is rebuilt, so no row of another table can be touched.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class SharingSettings(pw.Model):
        user = pw.ForeignKeyField(
            column_name="user_id",
            field="id",
            model=migrator.orm["user"],
            on_delete="CASCADE",
            primary_key=True,
        )
        visible = pw.BooleanField(default=False)
        periods = pw.CharField(default="4w,12m,all", max_length=64)
        sections = pw.CharField(default="totals,artists,tracks,albums,genres", max_length=64)
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "sharing_settings"
            indexes = ((("visible",), False),)

    @migrator.create_model
    class PublicLink(pw.Model):
        id = pw.AutoField()
        key_hash = pw.CharField(max_length=64, unique=True)
        user = pw.ForeignKeyField(
            column_name="user_id", field="id", model=migrator.orm["user"], on_delete="CASCADE"
        )
        periods = pw.CharField(max_length=64)
        sections = pw.CharField(max_length=64)
        created_at = pw.DateTimeField()
        expires_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "public_link"
            indexes = ((("user",), False),)

    @migrator.create_model
    class LinkHit(pw.Model):
        key = pw.CharField(max_length=200)
        minute = pw.DateTimeField()
        hits = pw.IntegerField(default=0)

        class Meta:
            table_name = "link_hit"
            primary_key = pw.CompositeKey("key", "minute")
            indexes = ((("minute",), False),)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("link_hit")
    migrator.remove_model("public_link")
    migrator.remove_model("sharing_settings")
