"""Accounts: the admin created from FIRST_ADMIN_*, passwords, Spotify logins, deleting a user."""

from __future__ import annotations

import contextlib
from pathlib import Path

from peewee import chunked, fn
from werkzeug.security import check_password_hash, generate_password_hash

from models.accounts import grants
from models.accounts.uploads import is_stored_upload
from models.schema.db import db, utcnow
from models.schema.tables import ImportJob, LocalTrack, Track, User


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


def authenticate_admin(email: str, password: str) -> User | None:
    """The admin account with this email (any case) and password, else None.

    An unknown email costs one scrypt hash too, so response times do not tell which emails
    have an account.  The web's admin login and the API's password grant both use it.
    """
    admin = User.get_or_none(
        (User.is_admin == True)  # noqa: E712 (peewee expression)
        & (fn.LOWER(User.email) == email.strip().lower())
    )
    if admin is None:
        generate_password_hash(password)
        return None
    return admin if check_password(admin, password) else None


def delete_user(user: User) -> None:
    """Remove every row of ``user`` and nothing else (plays, tokens, logs go by cascade), and
    the privacy exports they uploaded (kept on disk for import jobs: personal data too).

    Files go only once the rows are gone, so a failed delete leaves the account whole.
    """
    # Only the copies the web page stored: a Luigi job's path is the admin's own file.
    uploads = [
        Path(path)
        for (path,) in ImportJob.select(ImportJob.file_path)
        .where(ImportJob.user == user.id)
        .tuples()
        if is_stored_upload(path, user.id)
    ]
    with db.atomic():
        # A local file's track row is the listener's alone (its names are theirs): it goes too.
        local_tracks = LocalTrack.select(LocalTrack.track).where(LocalTrack.user == user.id)
        local_ids = [track_id for (track_id,) in local_tracks.tuples()]
        User.delete().where(User.id == user.id).execute()
        for chunk in chunked(local_ids, 500):
            Track.delete().where(Track.id.in_(chunk) & Track.is_local).execute()
    for upload in uploads:
        upload.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the user's upload folder, once empty
            upload.parent.rmdir()


class AccountConflict(Exception):
    """A Spotify login would take over an account that is not a Spotify listener's (the admin)."""


def _largest_image(images) -> str | None:
    """The URL of the largest image Spotify listed (sizes may be null: keep list order then)."""
    if not images:
        return None
    best = max(images, key=lambda image: (image.get("width") or 0) * (image.get("height") or 0))
    return best.get("url")


def find_spotify_user(me: dict) -> User | None:
    """The listener ``me`` (a /v1/me answer) belongs to: by ``account_id``, else by ``id``.

    Spotify asks apps to link accounts by the immutable ``account_id`` (2026); rows made before
    it was sent are found by ``id`` and adopt the ``account_id`` on their next login.
    """
    account_id = me.get("account_id")
    if account_id:
        user = User.get_or_none(User.account_id == account_id)
        if user is not None:
            return user
    return User.get_or_none(User.spotify_id == me["id"])


def upsert_spotify_user(me: dict, token: dict, *, now=None) -> User:
    """Create or update the listener from ``/v1/me`` and store their grant; one transaction.

    ``token`` is the token endpoint's answer (``access_token``, ``refresh_token``,
    ``expires_in``, ``scope``), stored by ``models.accounts.grants``.  Logging in
    is how a user repairs an expired or revoked grant, so it clears ``needs_reauth``.  Profile
    fields a development-mode app is not sent (email, country, product) keep what we stored
    rather than being overwritten with nothing; a new user gets NULL for them, never "".
    """
    now = now or utcnow()
    with db.atomic():
        user = find_spotify_user(me)
        if user is not None and user.is_admin:
            raise AccountConflict(f"the Spotify id {me['id']!r} is taken by the admin account")
        if user is None:
            user = User(spotify_id=me["id"], created_at=now)
        user.spotify_id = me["id"]
        user.account_id = me.get("account_id") or user.account_id
        user.display_name = me.get("display_name") or user.display_name
        for field in ("email", "country", "product"):
            if me.get(field):
                setattr(user, field, me[field])
        user.image_url = _largest_image(me.get("images")) or user.image_url
        user.needs_reauth = False
        user.reauth_reason = None
        user.save()
        grants.store(user, token, now=now)
    return user


def set_timezone(user: User, timezone: str) -> None:
    """Change the user's IANA time zone and re-bucket their summaries into it now, atomically.

    Statistics group days and hours in the user's local time from per-local-day summaries
    (``models.summaries.listening``); this rebuilds them from the raw plays in the same
    transaction (seconds for a million plays), so the web page calls
    ``models.jobs.timezones.change_timezone`` instead, which leaves the rebuild to the worker;
    this is for scripts and the benchmarks.  Raises
    ``models.periods.PeriodError`` (param "tz") for an unknown zone, changing nothing.
    """
    from models.periods import zone
    from models.summaries import listening

    zone(timezone)
    with db.atomic():
        User.update(timezone=timezone).where(User.id == user.id).execute()
        listening.rebuild(user.id, timezone, local_only=True)
    user.timezone = timezone
