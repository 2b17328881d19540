"""What a reader can do, as service functions that return outcomes: subscriptions, topics,
keyword alerts, settings, search. May import `bot.text` and `storage`."""
