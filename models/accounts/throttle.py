"""Password guesses are limited: failures counted per account and per client address.

The admin's password is the one password on the server (web ``/auth/admin`` and the API's
``POST /token``).  Each failed attempt is counted in the database (``LoginFailure``), so the
limit holds across gunicorn workers and Lambda containers, and after a few free failures each
further attempt must wait twice as long as the last, like warehouse's ``TooManyFailedLogins``:

- per **client address**, the strict limit: 5 free failures, then 1 minute, doubling up to a
  day.  This is what stops one attacker.
- per **account** (the email tried, known or not), the bounded one: 5 free failures, then
  1 second, doubling up to 5 minutes.  Guesses from many addresses are slowed, yet whoever
  sends them can keep the real admin out for minutes at a time, never hours.

The check comes before the password is hashed, so a refused attempt costs no scrypt hash (32
MiB, the CPU of a worker).  A success clears both counters; failures older than a day are
forgotten.  Time comes from :data:`clock` (or a ``now`` argument), so tests move it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from dataclasses import dataclass

from models.accounts.users import authenticate_admin
from models.schema.db import db, utcnow
from models.schema.tables import LoginFailure, User

FORGET_AFTER = dt.timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    free: int  # failures allowed before any wait
    first_delay: float  # seconds to wait after the first counted failure past the free ones
    max_delay: float  # the wait never grows past this

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.first_delay * 2 ** (failures - self.free), self.max_delay)


ACCOUNT_LIMIT = Limit(free=5, first_delay=1, max_delay=5 * 60)
ADDRESS_LIMIT = Limit(free=5, first_delay=60, max_delay=24 * 60 * 60)

clock = utcnow  # the one seam for time: tests replace it instead of waiting


class TooManyFailedLogins(Exception):
    """Too many recent failures for this account or address; try again in ``resets_in`` s."""

    def __init__(self, resets_in: float):
        self.resets_in = max(1, math.ceil(resets_in))
        super().__init__(f"too many failed logins: try again in {self.resets_in} seconds")


def address_key(address: str | None) -> str:
    """The key of a client address; an IPv6 client counts by its /64, which one host holds."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "address:unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return f"address:{ip.ipv4_mapped}"
        return f"address:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"address:{ip}"


def account_key(email: str) -> str:
    return f"account:{email.strip().lower()[:320]}"


def _limits(email: str, address: str | None) -> dict[str, Limit]:
    return {account_key(email): ACCOUNT_LIMIT, address_key(address): ADDRESS_LIMIT}


def check(email: str, address: str | None, *, now: dt.datetime | None = None) -> None:
    """Raise :class:`TooManyFailedLogins` if this account or address must wait."""
    now = now or clock()
    limits = _limits(email, address)
    wait = 0.0
    for row in LoginFailure.select().where(LoginFailure.key.in_(list(limits))):
        if now - row.last_failed_at > FORGET_AFTER:
            continue
        retry_at = row.last_failed_at + dt.timedelta(seconds=limits[row.key].delay(row.failures))
        wait = max(wait, (retry_at - now).total_seconds())
    if wait > 0:
        raise TooManyFailedLogins(wait)


def record_failure(email: str, address: str | None, *, now: dt.datetime | None = None) -> None:
    now = now or clock()
    with db.atomic():
        LoginFailure.delete().where(LoginFailure.last_failed_at < now - FORGET_AFTER).execute()
        for key in _limits(email, address):
            LoginFailure.insert(key=key, failures=1, last_failed_at=now).on_conflict(
                conflict_target=[LoginFailure.key],
                update={
                    LoginFailure.failures: LoginFailure.failures + 1,
                    LoginFailure.last_failed_at: now,
                },
            ).execute()


def clear(email: str, address: str | None) -> None:
    LoginFailure.delete().where(LoginFailure.key.in_(list(_limits(email, address)))).execute()


def authenticate_admin_limited(
    email: str, password: str, address: str | None, *, now: dt.datetime | None = None
) -> User | None:
    """:func:`models.accounts.users.authenticate_admin` behind the limits; both shells call it.

    Raises :class:`TooManyFailedLogins` without hashing when the account or address must wait.
    """
    now = now or clock()
    check(email, address, now=now)
    admin = authenticate_admin(email, password)
    if admin is None:
        record_failure(email, address, now=now)
    else:
        clear(email, address)
    return admin
