"""Everything that writes plays and the catalogue: ``plays.store_plays`` (the one way in for a
play), ``catalogue`` (Spotify's objects as rows, upserts), and ``etl`` (the hourly run's steps
the Luigi tasks in ``batch/`` call).
"""
