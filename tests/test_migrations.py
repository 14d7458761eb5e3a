"""peewee-migrate owns the schema: the migrations build exactly the models, on both engines."""
from __future__ import annotations

import subprocess
import sys

from models.migrate import pending_model_changes, router, upgrade
from models.tables import ALL_TABLES, User
from settings import PROJECT_DIR


def test_migrations_build_every_table(db):
    tables = set(db.get_tables())
    assert {model._meta.table_name for model in ALL_TABLES} <= tables
    assert "basemodel" not in tables


def test_models_and_migrations_do_not_drift(db):
    assert pending_model_changes() == "", (
        "models/tables.py changed without a migration: run `python -m models.migrate create NAME`")


def test_drift_check_sees_a_new_field(db, monkeypatch):
    from peewee import TextField

    field = TextField(null=True)
    User._meta.add_field("nickname", field)
    try:
        assert "nickname" in pending_model_changes()
    finally:
        User._meta.remove_field("nickname")


def test_every_migration_is_applied(db):
    migration_router = router()
    assert migration_router.diff == []
    assert migration_router.done == migration_router.todo


def test_first_admin_is_created_once_with_a_hashed_password(db, make_settings):
    settings = make_settings(FIRST_ADMIN_ID="root", FIRST_ADMIN_EMAIL="admin@example.test",
                             FIRST_ADMIN_PASSWORD="correct horse battery")
    upgrade(settings)
    upgrade(settings)
    admins = list(User.select().where(User.is_admin))
    assert len(admins) == 1
    assert admins[0].email == "admin@example.test"
    assert "correct horse battery" not in admins[0].password_hash
    from models.users import check_password

    assert check_password(admins[0], "correct horse battery")
    assert not check_password(admins[0], "wrong")


def test_migrate_command_on_a_fresh_sqlite_file(tmp_path):
    """What `make demo` and the Procfile release step run, end to end in a subprocess."""
    environ = {"SECRET_KEY": "x" * 32, "CLIENT_ID": "c", "CLIENT_SECRET": "s",
               "DATA_DIR": str(tmp_path), "FIRST_ADMIN_EMAIL": "a@example.test",
               "FIRST_ADMIN_PASSWORD": "pw-pw-pw", "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        result = subprocess.run([sys.executable, "-m", "models.migrate"], cwd=PROJECT_DIR,
                                env=environ, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
    assert "0 migration(s) applied" in result.stdout
    assert (tmp_path / "spotify_tracker.db").exists()
