"""Encryption at rest for Spotify tokens.

A stolen database dump must not hand out users' Spotify refresh tokens, so they are stored as
Fernet tokens (AES-128-CBC + HMAC-SHA256, from the ``cryptography`` package rather than
hand-rolled crypto) under a key derived from SECRET_KEY.  Rotating SECRET_KEY therefore forces
users to log in again, which is the safe failure.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

_fernet: Fernet | None = None


class TokenDecryptionError(Exception):
    """A stored value cannot be decrypted: SECRET_KEY changed or the row was tampered with."""


def key_from_secret(secret_key: str) -> bytes:
    digest = hashlib.sha256(b"spotify-tracker/token-encryption/v1\0" + secret_key.encode())
    return base64.urlsafe_b64encode(digest.digest())


def configure(secret_key: str) -> None:
    global _fernet
    _fernet = Fernet(key_from_secret(secret_key))


def _cipher() -> Fernet:
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
            "stored token cannot be decrypted with this SECRET_KEY"
        ) from None
