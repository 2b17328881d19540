"""What admins see and do: broadcasts and their progress, figures for /stats, feed-health
notices. May import `bot.delivery`, `bot.readers`, `bot.text`, `bot.clock`, `storage`."""
