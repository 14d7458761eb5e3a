"""Peewee migrations -- 060_login_security.py: sessions, API tokens and password logins hardened.

- ``login_session``: one row per logged-in browser, so logging out (or out everywhere) ends a
  session for good, even for a copied cookie (``models.accounts.sessions``).
- ``user.token_epoch``: "revoke all API tokens" raises it; a token names the epoch it was issued
  under (``models.accounts.api_tokens``; a token from before has none and counts as epoch 0).
- ``user.legacy_cookies``: on for the accounts that exist now, so their session cookies from
  before server-side sessions still log in (and become sessions) until their first logout.
- ``login_failure``: failed password logins per account and per client address, for the
  back-off (``models.accounts.throttle``).
- ``oauth_state``: a pending Spotify login's state and PKCE verifier, out of the session cookie.
- On SQLite, the ``user`` table is rebuilt with ``AUTOINCREMENT``: without it a deleted newest
  user's id went to the next sign-up.  PostgreSQL's sequence never goes back; nothing to do.
"""

import peewee as pw
from peewee_migrate import Migrator

ID_COLUMN = '"id" INTEGER NOT NULL PRIMARY KEY'


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    token_epoch = pw.IntegerField(default=0)
    # Accounts that exist now keep their session cookies until they first log out; new ones
    # never had any (models.accounts.sessions.upgrade_legacy).
    legacy_cookies = pw.BooleanField(default=False)
    if isinstance(getattr(database, "obj", database), pw.SqliteDatabase):
        if not fake:
            _user_ids_never_reused_on_sqlite(database)
        # peewee's SQLite migrator adds a NOT NULL column by rebuilding the table, and inside
        # peewee-migrate's transaction its "foreign keys off" is ignored: dropping the old
        # ``user`` would cascade-delete every play.  SQLite adds this column in place.
        migrator.orm["user"]._meta.add_field("token_epoch", token_epoch)
        migrator.sql('ALTER TABLE "user" ADD COLUMN "token_epoch" INTEGER NOT NULL DEFAULT 0')
        migrator.orm["user"]._meta.add_field("legacy_cookies", legacy_cookies)
        migrator.sql('ALTER TABLE "user" ADD COLUMN "legacy_cookies" INTEGER NOT NULL DEFAULT 0')
        migrator.sql('UPDATE "user" SET "legacy_cookies" = 1')
    else:
        migrator.add_fields("user", token_epoch=token_epoch, legacy_cookies=legacy_cookies)
        migrator.sql('UPDATE "user" SET "legacy_cookies" = TRUE')

    @migrator.create_model
    class LoginFailure(pw.Model):
        key = pw.CharField(max_length=400, primary_key=True)
        failures = pw.IntegerField(default=0)
        last_failed_at = pw.DateTimeField()

        class Meta:
            table_name = "login_failure"
            indexes = ((("last_failed_at",), False),)

    @migrator.create_model
    class LoginSession(pw.Model):
        key_hash = pw.CharField(max_length=64, primary_key=True)
        user = pw.ForeignKeyField(
            column_name="user_id", field="id", model=migrator.orm["user"], on_delete="CASCADE"
        )
        created_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()

        class Meta:
            table_name = "login_session"
            indexes = ((("expires_at",), False),)

    @migrator.create_model
    class OAuthState(pw.Model):
        key = pw.CharField(max_length=200, primary_key=True)
        value = pw.TextField()
        expires_at = pw.DateTimeField()

        class Meta:
            table_name = "oauth_state"
            indexes = ((("expires_at",), False),)


def _user_ids_never_reused_on_sqlite(database):
    """Rebuild ``user`` as the same table with ``AUTOINCREMENT`` (SQLite cannot ALTER it in).

    Dropping ``user`` with foreign keys on would cascade-delete every play, grant and summary,
    and ``PRAGMA foreign_keys`` cannot change inside a transaction: so this ends
    peewee-migrate's transaction, rebuilds in a transaction of its own with foreign keys off
    (checking them before it commits), and opens a new one for the rest of the migration.
    Running it again once the table has ``AUTOINCREMENT`` does nothing.
    """
    (create_sql,) = database.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'user'"
    ).fetchone()
    if "AUTOINCREMENT" in create_sql.upper():
        return
    assert ID_COLUMN in create_sql, create_sql
    indexes = [
        sql
        for (sql,) in database.execute_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'user' "
            "AND sql IS NOT NULL"
        )
    ]
    rebuilt = create_sql.replace('CREATE TABLE "user"', 'CREATE TABLE "user__rebuild"', 1)
    rebuilt = rebuilt.replace(ID_COLUMN, ID_COLUMN + " AUTOINCREMENT", 1)
    database.commit()
    database.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        database.execute_sql("BEGIN")
        try:
            database.execute_sql(rebuilt)
            database.execute_sql('INSERT INTO "user__rebuild" SELECT * FROM "user"')
            database.execute_sql('DROP TABLE "user"')
            database.execute_sql('ALTER TABLE "user__rebuild" RENAME TO "user"')
            for sql in indexes:
                database.execute_sql(sql)
            broken = database.execute_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"foreign keys broken by the user table rebuild: {broken[:5]}")
        except BaseException:
            database.execute_sql("ROLLBACK")
            raise
        database.execute_sql("COMMIT")
    finally:
        database.execute_sql("PRAGMA foreign_keys = ON")
        database.execute_sql("BEGIN")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("oauth_state")
    migrator.remove_model("login_session")
    migrator.remove_model("login_failure")
    migrator.remove_fields("user", "token_epoch", "legacy_cookies")
