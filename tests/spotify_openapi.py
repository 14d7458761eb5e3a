"""Find, or download once, the Spotify OpenAPI description the sandbox contract tests read.

The description is not ours to commit, so it comes from outside the repository, first found wins:

1. ``SPOTIFY_OPENAPI_PATH``, a file you name (taken as it is; a missing file is an error, never a
   silent fall-through to another copy);
2. ``<repo>/../shared/spotify-openapi.yml``, where this project's own CI keeps a copy;
3. ``<repo>/.cache/spotify-openapi-<sha256>.yml``, downloaded earlier by ``make test``.

``make test`` runs this file as a script before pytest: when none of them is there it downloads
the pinned upstream file (``SPOTIFY_OPENAPI_URL`` overrides the address) and caches it only if
its sha256 is the pinned one, so the tests never need the network and never read a file that
changed upstream. It uses only the standard library, so it runs before the venv has anything.
Without a copy and without network it prints how to provide one and exits 1; ``make test`` goes
on, and the contract tests then fail with that same message (``Unavailable``).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# sonallux/spotify-web-api tag v2026.5.31 (commit 39207c4ba600deb34b0913975d01983ba60be583)
PINNED_URL = (
    "https://raw.githubusercontent.com/sonallux/spotify-web-api/v2026.5.31/"
    "fixed-spotify-open-api.yml"
)
PINNED_SHA256 = "ddeb078a50208d94c4538bd891bec0c9e67c9f3406617a2d887f0a482a4501f4"
PINNED_SIZE = 285_947
PATH_VARIABLE = "SPOTIFY_OPENAPI_PATH"
URL_VARIABLE = "SPOTIFY_OPENAPI_URL"
TIMEOUT_SECONDS = 30


class Unavailable(Exception):
    """No usable copy of the description; ``str()`` is the whole message for the person."""


def shared_path(repo: Path = REPO) -> Path:
    return repo.parent / "shared" / "spotify-openapi.yml"


def cached_path(repo: Path = REPO) -> Path:
    """Named by its checksum, so a new pin never reads the file an older pin cached."""
    return repo / ".cache" / f"spotify-openapi-{PINNED_SHA256[:16]}.yml"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _how_to_provide(repo: Path, looked: list[str], reason: str) -> str:
    return "\n".join(
        [
            "Spotify's OpenAPI description is not available, so the sandbox contract tests "
            "cannot run.",
            f"Why: {reason}.",
            "Looked for:",
            *(f"  - {place}" for place in looked),
            "Provide it in one of these ways:",
            f"  * with internet access, run `make test` (or `python3 tests/spotify_openapi.py`) "
            f"in {repo}:",
            f"    it downloads {PINNED_URL}",
            f"    once into {cached_path(repo).parent}/ and keeps it only if its sha256 is",
            f"    {PINNED_SHA256};",
            f"  * or download that file yourself and set {PATH_VARIABLE}=/path/to/it.",
        ]
    )


def _search(repo: Path, environ: Mapping[str, str]) -> tuple[Path | None, list[str], str]:
    """(the copy to read or None, where it looked, why nothing was found)."""
    named = environ.get(PATH_VARIABLE)
    if named:
        if Path(named).is_file():
            return Path(named), [], ""
        return None, [f"{PATH_VARIABLE}={named}"], f"{PATH_VARIABLE} names no file: {named}"
    looked = [f"{PATH_VARIABLE} (not set)"]
    shared = shared_path(repo)
    if shared.is_file():
        return shared, [], ""
    looked.append(str(shared))
    cached = cached_path(repo)
    if not cached.is_file():
        looked.append(str(cached))
        return None, looked, "no copy was found and none has been downloaded"
    if _sha256(cached.read_bytes()) == PINNED_SHA256:
        return cached, [], ""
    looked.append(f"{cached} (present, but not the pinned sha256)")
    return None, looked, f"the cached copy {cached} has changed: delete it to download it again"


def find(repo: Path = REPO, environ: Mapping[str, str] = os.environ) -> Path:
    """The description to read, in the order of the module docstring, or ``Unavailable``."""
    path, looked, reason = _search(repo, environ)
    if path is None:
        raise Unavailable(_how_to_provide(repo, looked, reason))
    return path


def download(url: str, target: Path) -> None:
    """Store ``url`` at ``target`` only if it is the pinned file; ``Unavailable`` otherwise."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            data = response.read(PINNED_SIZE + 1)  # one byte more shows a longer file
    except (urllib.error.URLError, OSError) as exc:
        raise Unavailable(f"downloading {url} failed ({exc})") from exc
    digest = _sha256(data)
    if digest != PINNED_SHA256:
        raise Unavailable(
            f"{url} is not the pinned file (sha256 {digest}, {len(data)} bytes; expected "
            f"{PINNED_SHA256}, {PINNED_SIZE} bytes), so nothing was cached"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed: a run killed half-way leaves no partial file that
    # a later run would take for the description.
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; it is a public document
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


def ensure(repo: Path = REPO, environ: Mapping[str, str] = os.environ) -> Path:
    """``find()``, downloading into the cache first when there is nothing to find."""
    path, looked, reason = _search(repo, environ)
    if path is not None:
        return path
    if environ.get(PATH_VARIABLE):  # the person named a file: another one would hide the mistake
        raise Unavailable(_how_to_provide(repo, looked, reason))
    try:
        download(environ.get(URL_VARIABLE) or PINNED_URL, cached_path(repo))
    except Unavailable as failed:
        raise Unavailable(_how_to_provide(repo, looked, str(failed))) from None
    return find(repo, environ)


def main() -> int:
    try:
        path = ensure()
    except Unavailable as missing:
        print(missing, file=sys.stderr)
        return 1
    print(f"Spotify OpenAPI description: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
