"""Schema migrations with peewee-migrate, and the first admin account.

``python -m models.migrate`` (README, Makefile, Procfile release step, CI) brings the configured
database to the newest migration and then makes sure the FIRST_ADMIN_* account exists.
``python -m models.migrate create NAME`` writes a new migration from the models' changes.
"""

from __future__ import annotations

import argparse
import logging

from peewee_migrate import Router

import models
import settings as settings_module
from models.accounts.users import ensure_first_admin
from models.schema.db import db

MIGRATIONS_DIR = settings_module.PROJECT_DIR / "migrations"
IGNORED_MODELS = ["basemodel"]


def router() -> Router:
    return Router(
        db,
        migrate_dir=MIGRATIONS_DIR,
        ignore=IGNORED_MODELS,
        logger=logging.getLogger("peewee_migrate"),
    )


def upgrade(settings) -> list[str]:
    """Apply pending migrations; return their names."""
    applied = router().run()
    ensure_first_admin(settings)
    return applied


def pending_model_changes() -> str:
    """Migration code the models need beyond the applied migrations; empty when in step."""
    from peewee_migrate.router import compile_migrations

    from models.schema.tables import ALL_TABLES

    migration_router = router()
    return compile_migrations(migration_router.migrator, list(ALL_TABLES))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.migrate", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("up", help="apply pending migrations (default)")
    create = sub.add_parser("create", help="write a migration for the models' changes")
    create.add_argument("name")
    sub.add_parser("status", help="list applied and pending migrations")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    settings = settings_module.load()
    models.init(settings)
    if args.command == "create":
        from models.schema.tables import ALL_TABLES

        name = router().create(args.name, auto=list(ALL_TABLES))
        print(name or "no changes")
    elif args.command == "status":
        migration_router = router()
        print("applied:", ", ".join(migration_router.done) or "none")
        print("pending:", ", ".join(migration_router.diff) or "none")
    else:
        applied = upgrade(settings)
        print(
            f"migrated {settings.database_url.split('@')[-1]}: {len(applied)} migration(s) applied"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
