"""Accounts: the admin created from FIRST_ADMIN_*, passwords, and deleting a user."""
from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

from models.db import db
from models.tables import User


def ensure_first_admin(settings) -> User | None:
    """Create the admin from FIRST_ADMIN_* once; running it again changes nothing.

    The password is stored hashed (scrypt, via werkzeug) and never plain.  An existing admin
    keeps the password it has, so a leaked .env cannot silently reset it.
    """
    if not settings.first_admin_email or not settings.first_admin_password:
        return None
    with db.atomic():
        admin = User.get_or_none(User.spotify_id == settings.first_admin_id)
        if admin is None:
            admin = User.create(
                spotify_id=settings.first_admin_id,
                display_name="Administrator",
                email=settings.first_admin_email,
                is_admin=True,
                password_hash=generate_password_hash(settings.first_admin_password),
            )
    return admin


def check_password(user: User, password: str) -> bool:
    return bool(user.password_hash) and check_password_hash(user.password_hash, password)


def delete_user(user: User) -> None:
    """Remove every row of ``user`` and nothing else (plays, tokens, logs go by cascade)."""
    with db.atomic():
        User.delete().where(User.id == user.id).execute()


def set_timezone(user: User, timezone: str) -> None:
    """Change the user's IANA time zone and re-bucket their summaries into it, atomically.

    Statistics group days and hours in the user's local time from per-local-day summaries
    (``models.summaries``); changing zone rebuilds them from the raw plays in the same
    transaction (about a few seconds for a million plays).  Raises
    ``models.periods.PeriodError`` (param "tz") for an unknown zone, changing nothing.
    """
    from models import summaries
    from models.periods import zone

    zone(timezone)
    with db.atomic():
        User.update(timezone=timezone).where(User.id == user.id).execute()
        summaries.rebuild(user.id, timezone)
    user.timezone = timezone
