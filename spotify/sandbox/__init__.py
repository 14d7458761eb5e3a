"""Sandbox Spotify: a local stand-in for accounts.spotify.com and api.spotify.com.

Run it with ``python -m spotify.sandbox --port 8900``; tests use
:class:`spotify.sandbox.testing.SandboxServer`.
"""
