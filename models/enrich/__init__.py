"""MusicBrainz enrichment: what open data adds to the Spotify catalogue (docs/musicbrainz.md).

``store`` keeps the verdicts and facts (and when to ask again), ``matching`` decides which
MusicBrainz entity a Spotify one is (pure rules on the client's typed answers), ``run`` is the
hourly step that asks MusicBrainz for what is new or due and records what it learnt.
"""
