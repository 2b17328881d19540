"""Telegram command and button handlers, one module per user-facing feature.

Each parses a reader's input, calls a service of `bot`, and renders its outcome; no
handler imports `storage`. `handlers.app` registers them all; `handlers.main` is the
`newsbot` entry point that hands them to the runtime.
"""
