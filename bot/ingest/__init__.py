"""Getting articles in: the guarded fetcher, robots.txt, poll scheduling, feed and page
parsing, site crawling and the poller. May import `bot.text`, `bot.clock` and `storage`."""
