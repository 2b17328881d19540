"""Errors storage raises, the same whatever the backend."""

from __future__ import annotations


class DatabaseError(Exception):
    """The database cannot be opened or written; the message says why, with no secret in it."""
