"""Keys, one per purpose, and encryption at rest for Spotify tokens.

``SECRET_KEY`` is the one secret an operator keeps; every key the system uses is derived from it
with HKDF (RFC 5869, from ``cryptography``), with a distinct ``info`` per purpose, so a value
signed for one purpose never verifies for another (a JWT signature is no session signature)
and knowing one derived key tells nothing about the others or about SECRET_KEY.

Rotation: ``SECRET_KEY_FALLBACKS`` lists old secrets.  New values are always signed and encrypted
with the current secret's derived key; old secrets (and the current one) are still accepted for
reading, so changing SECRET_KEY logs no one out and loses no stored grant.

The upgrade from the single-secret design is one more fallback: before this module derived
keys, sessions and JWTs were signed with the raw SECRET_KEY and tokens were encrypted under a
SHA-256 derivation of it.  Each secret's raw value therefore stays accepted for verifying
(:func:`verifying_keys`) and its SHA-256 key for decrypting (:func:`configure`); the grants are
re-encrypted under the new key as they are read (``models.accounts.grants``).

Stored tokens are Fernet tokens (AES-128-CBC + HMAC-SHA256) in a ``MultiFernet``: it encrypts
with its first key and decrypts with any.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# HKDF ``info`` per purpose; changing one changes that key, so they are fixed forever.
SESSION_SIGNING = b"spotify-tracker/session-signing/v2"
API_TOKEN_SIGNING = b"spotify-tracker/api-token-signing/v2"
TOKEN_ENCRYPTION = b"spotify-tracker/token-encryption/v2"
SIGNING_KEY_BYTES = 64  # enough for HS512, the longest JWT algorithm ALGORITHM allows

_fernet: MultiFernet | None = None
_current: Fernet | None = None


class TokenDecryptionError(Exception):
    """A stored value cannot be decrypted: SECRET_KEY changed or the row was tampered with."""


@functools.lru_cache(maxsize=64)
def derive_key(secret_key: str, purpose: bytes, length: int = SIGNING_KEY_BYTES) -> bytes:
    """The key for ``purpose`` (one of the constants above) derived from ``secret_key``."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose)
    return hkdf.derive(secret_key.encode())


def signing_key(purpose: bytes, secret_key: str) -> bytes:
    """The key that signs new values for ``purpose``: always the current secret's."""
    return derive_key(secret_key, purpose)


def verifying_keys(purpose: bytes, secret_key: str, fallbacks: Iterable[str] = ()) -> list:
    """Every key a signature for ``purpose`` may have been made with, newest first (the first
    is :func:`signing_key`'s): for the current secret and each fallback, its derived key and
    then its raw value (what signed sessions and API tokens before keys were derived)."""
    keys: list[bytes | str] = []
    for secret in (secret_key, *fallbacks):
        keys += [derive_key(secret, purpose), secret]
    return keys


def legacy_key_from_secret(secret_key: str) -> bytes:
    """The token-encryption key of the single-secret design (read only, never written)."""
    digest = hashlib.sha256(b"spotify-tracker/token-encryption/v1\0" + secret_key.encode())
    return base64.urlsafe_b64encode(digest.digest())


def key_from_secret(secret_key: str) -> bytes:
    """The Fernet key new tokens are encrypted with."""
    return base64.urlsafe_b64encode(derive_key(secret_key, TOKEN_ENCRYPTION, 32))


def configure(secret_key: str, fallbacks: Iterable[str] = ()) -> None:
    """Encrypt under ``secret_key``'s derived key; decrypt under it, its legacy key, and both
    keys of every fallback."""
    global _fernet, _current
    _current = Fernet(key_from_secret(secret_key))
    readers = [_current, Fernet(legacy_key_from_secret(secret_key))]
    for secret in fallbacks:
        readers += [Fernet(key_from_secret(secret)), Fernet(legacy_key_from_secret(secret))]
    _fernet = MultiFernet(readers)


def _cipher() -> MultiFernet:
    if _fernet is None:
        raise RuntimeError("models.schema.crypto.configure(secret_key) was not called")
    return _fernet


def encrypt(plain: str) -> str:
    return _cipher().encrypt(plain.encode()).decode("ascii")


def decrypt(stored: str) -> str:
    try:
        return _cipher().decrypt(stored.encode("ascii")).decode()
    except InvalidToken:
        raise TokenDecryptionError(
            "stored token cannot be decrypted with SECRET_KEY or SECRET_KEY_FALLBACKS"
        ) from None


def is_current(stored: str) -> bool:
    """True when ``stored`` is encrypted under the current key (False: re-encrypt it)."""
    _cipher()  # refuses before configure() was called, so _current is set
    assert _current is not None
    try:
        _current.decrypt(stored.encode("ascii"))
    except InvalidToken:
        return False
    return True
