"""Per-user summary tables kept in step with the plays, so statistics never group raw plays.

``listening``: totals, per track, per local day, month and hour; ``catalogue``: the same sums
per artist, album and audio-features status, moved when the catalogue changes; ``charts``: the
weekly charts, ranked again for the weeks that change.
"""
