"""Getting messages out: rendering, the outbox sender, the shared rate limiter, the Bot API
HTTP backend and daily digests. May import `bot.readers`, `bot.text`, `bot.clock`, `storage`."""
