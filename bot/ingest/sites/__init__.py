"""News sites without a feed: section (listing) pages, article pages, and the polite crawl.

`page` decodes page bytes; `links` finds article links on a listing page;
`meta` reads what a page says about itself (Open Graph, JSON-LD, canonical);
`bot.ingest.extract` turns an article page into the same `ArticleInput` a feed item
becomes; `crawl` fetches a site source for the poller, within robots.txt
(`bot.ingest.robots`) and a per-poll budget.
"""
