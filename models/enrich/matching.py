"""Which MusicBrainz entity a Spotify one is: the matcher's rules, pure functions on the client's
typed answers (no I/O), documented with their confidence rule in docs/musicbrainz.md.

A wrong genre is worse than none, so every rule answers "matched" only on evidence that
leaves one candidate, and "ambiguous" (left unmatched, asked again later) otherwise:

* a track by ISRC: one recording with the ISRC is the track's; several: among those crediting
  exactly the track's artists, the closest in length, and strictly closer than the next;
* a track by names (no ISRC, or one MusicBrainz does not know): the one search candidate with
  the same title, the same lead artist and a length within ``NAME_LENGTH_TOLERANCE_MS``, and
  no ISRC other than the track's (a recording with other ISRCs is another recording),
  and no other track of the catalogue with that title and lead artist (and another ISRC)
  closer to the recording's length;
* an artist: the MusicBrainz artist its matched recordings credit where it is credited, when
  more than half of that evidence agrees; else the artist its Spotify URL relationship names,
  when it names exactly one;
* an album: the release group that most of its matched tracks' recordings belong to; a tie goes
  to the one titled like the album, else ambiguous.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from musicbrainz.client import Artist, ArtistCredit, Recording

NAME_LENGTH_TOLERANCE_MS = 10_000  # MusicBrainz's length differs by a few seconds from Spotify's
MATCHED, UNMATCHED, AMBIGUOUS = "matched", "unmatched", "ambiguous"


@dataclass(frozen=True)
class SpotifyTrack:
    """What the matcher knows of a Spotify track: names in credit order, length."""

    id: str
    title: str
    artists: tuple[str, ...]
    duration_ms: int | None
    isrc: str | None = None


@dataclass(frozen=True)
class Match:
    """A rule's answer: ``state`` and, when matched, the chosen entity; ``note`` says why not."""

    state: str
    chosen: Recording | None = None
    note: str | None = None


def normal(text: str | None) -> str:
    """A name compared across the two services: Unicode-folded, case-folded, spaces squeezed."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(folded.split())


def _credit_names(credits: Sequence[ArtistCredit]) -> set[str]:
    names = set()
    for credit in credits:
        names.add(normal(credit.artist_name))
        names.add(normal(credit.credited_name))
    return names


def names_lead(track: SpotifyTrack, recording: Recording) -> bool:
    """The recording's credit names the track's lead artist (by its name or as credited):
    enough for a search by names, where the title and length must agree too."""
    if not track.artists or not recording.artist_credits:
        return False
    return normal(track.artists[0]) in _credit_names(recording.artist_credits)


def same_credit(track: SpotifyTrack, recording: Recording) -> bool:
    """The recording credits exactly the track's artists (by name, in any order): what tells
    the track's recording from a remix sharing its ISRC with an extra artist."""
    if not track.artists or not recording.artist_credits:
        return False
    credited = {normal(c.artist_name) for c in recording.artist_credits}
    return credited == {normal(name) for name in track.artists}


def _length_gap(track: SpotifyTrack, recording: Recording) -> int | None:
    if track.duration_ms is None or recording.length_ms is None:
        return None
    return abs(track.duration_ms - recording.length_ms)


def _closest(track: SpotifyTrack, candidates: list[Recording], why: str) -> Match:
    """The single candidate, or the one strictly closest in length; else ambiguous."""
    if len(candidates) == 1:
        return Match(MATCHED, candidates[0])
    gaps = [(_length_gap(track, r), r) for r in candidates]
    known = sorted(((gap, r.id, r) for gap, r in gaps if gap is not None), key=lambda g: g[:2])
    if len(known) < len(candidates):
        return Match(AMBIGUOUS, note=f"{len(candidates)} {why}, some without a length")
    if known[0][0] == known[1][0]:
        return Match(AMBIGUOUS, note=f"{len(candidates)} {why}, equally close in length")
    return Match(MATCHED, known[0][2])


def match_by_isrc(track: SpotifyTrack, recordings: Sequence[Recording]) -> Match:
    """The recording among those carrying the track's ISRC (see the module's rules)."""
    unique = list({r.id: r for r in recordings}.values())
    if not unique:
        return Match(UNMATCHED, note="ISRC unknown to MusicBrainz")
    if len(unique) == 1:
        return Match(MATCHED, unique[0])
    credited = [r for r in unique if same_credit(track, r)]
    if not credited:
        return Match(
            AMBIGUOUS,
            note=f"{len(unique)} recordings share the ISRC, none credits the track's artist",
        )
    return _closest(track, credited, "recordings with the ISRC and the artist")


def match_by_names(track: SpotifyTrack, candidates: Iterable[Recording]) -> Match:
    """The one search candidate with the track's title, artists and length (see the rules)."""
    title = normal(track.title)
    fitting = []
    for recording in {r.id: r for r in candidates}.values():
        if normal(recording.title) != title or not names_lead(track, recording):
            continue
        if track.isrc and recording.isrcs and track.isrc.upper() not in recording.isrcs:
            continue  # it has ISRCs, and not the track's: another recording of that title
        gap = _length_gap(track, recording)
        if gap is None or gap > NAME_LENGTH_TOLERANCE_MS:
            continue
        fitting.append(recording)
    if not fitting:
        return Match(UNMATCHED, note="no recording with the title, artist and length")
    if len(fitting) > 1:
        return Match(AMBIGUOUS, note=f"{len(fitting)} recordings with the title, artist and length")
    return Match(MATCHED, fitting[0])


def closest_claimant(
    track: SpotifyTrack, recording: Recording, rivals: Iterable[SpotifyTrack]
) -> Match:
    """A recording found by names belongs to the track of that title and lead artist closest
    to its length.  ``rivals``: the catalogue's other tracks of the same title and lead artist;
    one with the track's own ISRC is the same recording (no rival), one with another ISRC is
    another recording that may be this one: if it is closer, the track is not matched; as close,
    neither can be told apart (ambiguous)."""
    gap = _length_gap(track, recording)
    if gap is None:
        return Match(UNMATCHED, note="no length to compare")
    for rival in rivals:
        if rival.id == track.id or (rival.isrc and track.isrc and rival.isrc == track.isrc):
            continue
        rival_gap = _length_gap(rival, recording)
        if rival_gap is None:
            continue
        if rival_gap < gap:
            return Match(UNMATCHED, note=f"track {rival.id} of that title is closer in length")
        if rival_gap == gap:
            return Match(AMBIGUOUS, note=f"track {rival.id} of that title is as close in length")
    return Match(MATCHED, recording)


def credited_artist(
    spotify_name: str, position: int, spotify_count: int, credits: Sequence[Sequence[str]]
) -> str | None:
    """The MBID a matched recording's credit (``[[mbid, name], ...]``) gives the Spotify
    artist named ``spotify_name`` at ``position`` of ``spotify_count`` credits: the credit of
    that name; without one, the credit at the same position when both list as many artists."""
    wanted = normal(spotify_name)
    named = {mbid for mbid, name in credits if normal(name) == wanted}
    if len(named) == 1:
        return next(iter(named))
    if not named and len(credits) == spotify_count and position < len(credits):
        return credits[position][0]
    return None


def match_artist(
    evidence: Sequence[str | None], linked: Sequence[Artist] | None
) -> tuple[str, str | None, str | None]:
    """(state, MBID, note) of a Spotify artist from the MBIDs its matched recordings credit
    (``evidence``, one per recording, None where none fits) and the artists its Spotify URL
    relationship names (``linked``; None when not asked)."""
    votes = Counter(mbid for mbid in evidence if mbid)
    if votes:
        best, count = votes.most_common(1)[0]
        if count * 2 > sum(votes.values()):
            return MATCHED, best, None
    if linked:
        ids = {artist.id for artist in linked}
        if len(ids) == 1:
            return MATCHED, next(iter(ids)), None
        return AMBIGUOUS, None, f"its Spotify link names {len(ids)} artists"
    if votes:
        return AMBIGUOUS, None, f"its recordings credit {len(votes)} different artists"
    return UNMATCHED, None, "no matched recording credits it and no Spotify link names it"


def match_release_group(
    album_name: str, per_track: Sequence[Sequence[Sequence[str]]]
) -> tuple[str, str | None, str | None]:
    """(state, release-group MBID, note) of an album from its matched tracks' recordings'
    release groups (one list of [MBID, title] per track): the one most of them share; a tie
    goes to the one titled like the album (a "best of" shares a track or two, not the title),
    else it is ambiguous."""
    votes: Counter[str] = Counter()
    titles: dict[str, str] = {}
    for groups in per_track:
        for group_id, title in {group[0]: group for group in groups}.values():
            votes[group_id] += 1
            titles[group_id] = title
    if not votes:
        return UNMATCHED, None, "its matched recordings name no release group"
    most = max(votes.values())
    best = sorted(group for group, count in votes.items() if count == most)
    if len(best) > 1:
        named = [group for group in best if normal(titles[group]) == normal(album_name)]
        if len(named) != 1:
            return AMBIGUOUS, None, f"{len(best)} release groups share its recordings equally"
        best = named
    return MATCHED, best[0], None
