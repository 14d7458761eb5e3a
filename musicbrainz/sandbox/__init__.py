"""Sandbox MusicBrainz: a local stand-in for musicbrainz.org/ws/2, from the sandbox Spotify's world.

No machine here reaches MusicBrainz, so enrichment is developed, tested and demonstrated against
this server. It speaks ws/2 JSON at MusicBrainz's paths; pointing MUSICBRAINZ_BASE_URL at it
is the only change from production. Its data is the sandbox Spotify's world (same seed, same
default 42) as MusicBrainz would know it, with what real data has (``world.py``).

Run it::

    python -m musicbrainz.sandbox --port 8901 [--seed N] [--artists N] [--rate-window S]

It prints the base URL to configure. Tests use :class:`musicbrainz.sandbox.testing.
MusicBrainzSandbox` (a thread on a free port, the rate window scaled down).

ws/2 (see ``server.py`` for the rules and their order):

* lookups ``/ws/2/{artist|recording|release|release-group}/<mbid>?inc=a+b`` (``genres``,
  ``tags``, ``artist-credits``, ``isrcs``, ``releases``, ``release-groups``, ``recordings``,
  ``url-rels``); ``/ws/2/isrc/<isrc>``; ``/ws/2/url?resource=..[&resource=..]&inc=artist-rels``;
* searches ``/ws/2/{recording|artist|release-group}?query=<lucene>&limit=&offset=`` with the
  subset in ``lucene.py`` (fields, quotes, AND/OR, parentheses, ranges), scores 0-100;
* ``/ws/2/genre/all?limit=&offset=`` (or ``fmt=txt``).

Control (JSON, never rate limited): ``GET|POST /_sandbox/control`` (knobs: ``rate_window``,
``rate_slack``, ``enforce_rate``, ``fail_next``, ``fail_status``, ``retry_after``, ``delay``,
``delay_next``, ``malformed_next``, ``malformed``; see ``state.Knobs``), ``GET /_sandbox/calls
[?endpoint=&since=]`` (counts per endpoint and status, the request log with timestamps),
``POST /_sandbox/reset``, ``GET /_sandbox/expected`` (the ground truth for matchers).

Modules: ``world.py`` (the data and the ground truth), ``lucene.py`` (the query subset),
``search.py`` (indexes), ``render.py`` (ws/2 JSON shapes), ``state.py`` (knobs, counters),
``server.py`` (ws/2 views and rules), ``control.py``, ``testing.py``, ``__main__.py``.
"""
