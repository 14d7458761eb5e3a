"""The bottom layer: the database handle, the tables, bulk writes and encryption at rest.

Nothing here imports another part of ``models``; every other package builds on it.
"""
