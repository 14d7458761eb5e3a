"""MusicBrainz: the open music encyclopedia's web service (ws/2), and a sandbox of it.

Like :mod:`spotify`, this package is the protocol and nothing else: it imports none of the
project. ``client.py`` (the client and its typed answers), ``errors.py`` (what a caller does
about each failure), ``pacing.py`` (the one-request-per-second rule, in-process), ``sandbox/``
(a local MusicBrainz generated from the sandbox Spotify's world). The pacer shared by every
process of a machine lives in the core (``models.schema.pacing``), since it needs the database.
"""
