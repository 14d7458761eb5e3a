"""Listeners and the admin: accounts, their Spotify grants, API tokens, uploaded files, the data
export and the admin's overview.
"""
