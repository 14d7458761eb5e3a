"""History imports from Spotify's privacy export: ``privacy_export`` reads and validates the
files, ``history_import`` runs the resumable import jobs.
"""
