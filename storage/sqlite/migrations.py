"""The schema, as an ordered list of migrations. Never edit a released step: append one.

Times are UNIX seconds (UTC) in INTEGER columns: cheap to compare, index and sort,
and free of time-zone text. Booleans are 0/1.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the whole model the bot needs: sources, articles and their search index,
    # readers and what they follow, and the outbox everything pushed goes through.
    """
    CREATE TABLE topics (
        slug        TEXT PRIMARY KEY,
        name_vi     TEXT NOT NULL,
        name_en     TEXT NOT NULL,
        keywords    TEXT NOT NULL DEFAULT '[]',  -- JSON list of phrases
        position    INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE feeds (
        id                INTEGER PRIMARY KEY,
        url               TEXT NOT NULL UNIQUE,
        name              TEXT NOT NULL,
        kind              TEXT NOT NULL DEFAULT 'feed' CHECK (kind IN ('feed', 'site')),
        origin            TEXT NOT NULL DEFAULT 'config',  -- config | operator
        enabled           INTEGER NOT NULL DEFAULT 1,
        etag              TEXT,
        last_modified     TEXT,
        body_hash         TEXT,
        ttl_minutes       INTEGER,
        first_polled_at   INTEGER,  -- NULL until the first successful poll (no alerts then)
        last_polled_at    INTEGER,
        last_success_at   INTEGER,
        next_poll_at      INTEGER NOT NULL DEFAULT 0,
        failures          INTEGER NOT NULL DEFAULT 0,
        last_error_kind   TEXT,
        last_error        TEXT,
        paused_at         INTEGER,
        articles_total    INTEGER NOT NULL DEFAULT 0,
        created_at        INTEGER NOT NULL
    );
    CREATE INDEX feeds_due ON feeds (next_poll_at) WHERE enabled = 1 AND paused_at IS NULL;

    CREATE TABLE feed_topics (
        feed_id     INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
        topic_slug  TEXT NOT NULL,
        PRIMARY KEY (feed_id, topic_slug)
    ) WITHOUT ROWID;

    CREATE TABLE articles (
        id            INTEGER PRIMARY KEY,
        feed_id       INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
        item_key      TEXT NOT NULL,
        url           TEXT NOT NULL,
        title         TEXT NOT NULL,
        summary       TEXT NOT NULL,
        content_text  TEXT NOT NULL,
        author        TEXT,
        image_url     TEXT,
        published_at  INTEGER NOT NULL,
        fetched_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        UNIQUE (feed_id, item_key)
    );
    CREATE INDEX articles_published ON articles (published_at DESC);

    CREATE TABLE article_topics (
        article_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        topic_slug  TEXT NOT NULL,
        PRIMARY KEY (article_id, topic_slug)
    ) WITHOUT ROWID;
    CREATE INDEX article_topics_by_topic ON article_topics (topic_slug, article_id);

    -- Accent-folded copies of the text (bot.vntext.fold), rowid = articles.id.
    -- Folding happens in Python because unicode61 cannot fold đ → d.
    CREATE VIRTUAL TABLE article_search USING fts5 (
        title, body, tokenize = 'unicode61 remove_diacritics 2'
    );

    CREATE TABLE subscribers (
        chat_id         INTEGER PRIMARY KEY,
        chat_type       TEXT NOT NULL DEFAULT 'private',
        language        TEXT NOT NULL DEFAULT 'vi',
        timezone        TEXT NOT NULL DEFAULT 'Asia/Ho_Chi_Minh',
        mode            TEXT NOT NULL DEFAULT 'instant' CHECK (mode IN ('instant', 'digest')),
        digest_hour     INTEGER NOT NULL DEFAULT 7 CHECK (digest_hour BETWEEN 0 AND 23),
        quiet_start     INTEGER CHECK (quiet_start BETWEEN 0 AND 23),
        quiet_end       INTEGER CHECK (quiet_end BETWEEN 0 AND 23),
        active          INTEGER NOT NULL DEFAULT 1,
        blocked_at      INTEGER,
        inactive_reason TEXT,
        last_digest_on  TEXT,  -- local date (YYYY-MM-DD) of the last digest queued
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
    );
    CREATE INDEX subscribers_active_mode ON subscribers (mode) WHERE active = 1;

    CREATE TABLE topic_subscriptions (
        chat_id     INTEGER NOT NULL REFERENCES subscribers (chat_id) ON DELETE CASCADE,
        topic_slug  TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (chat_id, topic_slug)
    ) WITHOUT ROWID;
    CREATE INDEX topic_subscriptions_by_topic ON topic_subscriptions (topic_slug, chat_id);

    CREATE TABLE keyword_alerts (
        id          INTEGER PRIMARY KEY,
        chat_id     INTEGER NOT NULL REFERENCES subscribers (chat_id) ON DELETE CASCADE,
        phrase      TEXT NOT NULL,
        folded      TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        UNIQUE (chat_id, folded)
    );

    CREATE TABLE broadcasts (
        id            INTEGER PRIMARY KEY,
        admin_id      INTEGER NOT NULL,
        text          TEXT NOT NULL,
        parse_mode    TEXT,
        topic_slug    TEXT,  -- NULL: everyone active
        status        TEXT NOT NULL DEFAULT 'draft'
                      CHECK (status IN ('draft', 'queued', 'sending', 'done', 'cancelled')),
        progress_chat_id    INTEGER,
        progress_message_id INTEGER,
        created_at    INTEGER NOT NULL,
        confirmed_at  INTEGER,
        finished_at   INTEGER
    );

    CREATE TABLE digests (
        chat_id     INTEGER NOT NULL REFERENCES subscribers (chat_id) ON DELETE CASCADE,
        local_date  TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        articles    INTEGER NOT NULL,
        PRIMARY KEY (chat_id, local_date)
    ) WITHOUT ROWID;

    -- One row per (chat, message) pushed. dedup_key makes "never queue twice" a
    -- constraint instead of a hope: 'article:<id>', 'digest:<date>:<part>', 'broadcast:<id>'.
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        chat_id         INTEGER NOT NULL,
        kind            TEXT NOT NULL CHECK (kind IN ('reply', 'alert', 'digest', 'broadcast')),
        priority        INTEGER NOT NULL,  -- lower goes first
        dedup_key       TEXT NOT NULL,
        article_id      INTEGER REFERENCES articles (id) ON DELETE SET NULL,
        broadcast_id    INTEGER REFERENCES broadcasts (id) ON DELETE SET NULL,
        payload         TEXT,  -- JSON: text, parse_mode, buttons … when not rendered at send time
        status          TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dropped')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        not_before      INTEGER NOT NULL,
        last_error      TEXT,
        telegram_message_id INTEGER,
        created_at      INTEGER NOT NULL,
        finished_at     INTEGER,
        UNIQUE (chat_id, dedup_key)
    );
    CREATE INDEX outbox_due ON outbox (priority, not_before, id) WHERE status = 'pending';

    -- Leases keep two bot processes on one database from both polling or sending.
    CREATE TABLE leases (
        name        TEXT PRIMARY KEY,
        holder      TEXT NOT NULL,
        expires_at  INTEGER NOT NULL
    );
    """,
    # 2: sources without a feed ("site"): per-source link rules, and what the
    # reader remembers about its section page's links between polls.
    """
    ALTER TABLE feeds ADD COLUMN article_pattern TEXT;  -- regex on article URLs; NULL: default
    ALTER TABLE feeds ADD COLUMN link_selector TEXT;    -- CSS selector for article links
    -- JSON object: listing link -> 'b' (seen on the first poll, to fetch quietly)
    -- or 'd' (done: stored under another URL, or not an article). Links stored
    -- under their own URL are known from articles.item_key and are not listed.
    ALTER TABLE feeds ADD COLUMN site_links TEXT;
    """,
    # 3: why a push failed, as a kind instead of a prefix matched in last_error.
    """
    ALTER TABLE outbox ADD COLUMN failure_kind TEXT
        CHECK (failure_kind IN ('chat_gone', 'gave_up', 'rejected', 'article_gone'));
    UPDATE outbox SET failure_kind = 'chat_gone'
        WHERE status IN ('failed', 'dropped') AND last_error LIKE 'chat gone:%';
    UPDATE outbox SET failure_kind = 'gave_up'
        WHERE status = 'failed' AND failure_kind IS NULL;
    """,
    # 4: scheduling by each feed's rhythm: when its latest new items appeared,
    # and how many it publishes at each hour of the day.
    """
    ALTER TABLE feeds ADD COLUMN recent_items TEXT;  -- JSON list of UNIX seconds, oldest first
    ALTER TABLE feeds ADD COLUMN hourly_items TEXT;  -- JSON list of 24 decayed counts (UTC hours)
    """,
    # 5: when a reader's digests began (switching to digest mode): the first digest
    # covers from then, not the whole day before.
    """
    ALTER TABLE subscribers ADD COLUMN digest_since INTEGER;
    """,
    # 6: the keyword an alert matched (NULL: the reader follows its topic).
    """
    ALTER TABLE outbox ADD COLUMN keyword TEXT;
    """,
    # 7: what a reader sets beyond the hour: the digest's minute (18:30), whether
    # alerts arrive silently (always, or at night), and the other words a topic
    # goes by ("economy" for Kinh tế).
    """
    ALTER TABLE subscribers ADD COLUMN digest_minute INTEGER NOT NULL DEFAULT 0
        CHECK (digest_minute BETWEEN 0 AND 59);
    ALTER TABLE subscribers ADD COLUMN silent_alerts TEXT NOT NULL DEFAULT 'off'
        CHECK (silent_alerts IN ('off', 'night', 'always'));
    ALTER TABLE topics ADD COLUMN aliases TEXT NOT NULL DEFAULT '[]';  -- JSON list
    """,
    # 8: destinations: the publisher's channels, groups and forum topics, fed by
    # topics and single sources; their posts are outbox rows tied to them.
    """
    CREATE TABLE destinations (
        id            INTEGER PRIMARY KEY,
        chat_id       INTEGER NOT NULL,
        thread_id     INTEGER NOT NULL DEFAULT 0,  -- a forum topic's id; 0: the whole chat
        chat_type     TEXT NOT NULL DEFAULT 'channel'
                      CHECK (chat_type IN ('channel', 'group', 'supergroup')),
        title         TEXT NOT NULL DEFAULT '',
        origin        TEXT NOT NULL DEFAULT 'telegram' CHECK (origin IN ('config', 'telegram')),
        style         TEXT NOT NULL DEFAULT 'photo' CHECK (style IN ('photo', 'text')),
        hashtags      INTEGER NOT NULL DEFAULT 0,
        silent        INTEGER NOT NULL DEFAULT 0,
        added_by      INTEGER,  -- the admin who added it from Telegram, told of pauses
        paused_at     INTEGER,
        pause_reason  TEXT,
        created_at    INTEGER NOT NULL,
        UNIQUE (chat_id, thread_id)
    );
    CREATE TABLE destination_topics (
        destination_id  INTEGER NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
        topic_slug      TEXT NOT NULL,
        PRIMARY KEY (destination_id, topic_slug)
    ) WITHOUT ROWID;
    CREATE INDEX destination_topics_by_topic ON destination_topics (topic_slug, destination_id);
    CREATE TABLE destination_feeds (
        destination_id  INTEGER NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
        feed_id         INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
        PRIMARY KEY (destination_id, feed_id)
    ) WITHOUT ROWID;
    CREATE INDEX destination_feeds_by_feed ON destination_feeds (feed_id, destination_id);
    -- A post (an article or an announcement) for a destination; NULL: a reader's row.
    ALTER TABLE outbox ADD COLUMN destination_id INTEGER
        REFERENCES destinations (id) ON DELETE CASCADE;
    CREATE INDEX outbox_by_destination ON outbox (destination_id, status)
        WHERE destination_id IS NOT NULL;
    -- Who an announcement goes to: readers (as before), readers and destinations, or
    -- destinations only.
    ALTER TABLE broadcasts ADD COLUMN audience TEXT NOT NULL DEFAULT 'readers'
        CHECK (audience IN ('readers', 'all', 'destinations'));
    """,
    # 9: stories. An article joined to an earlier one's story names it (story_id: the
    # story's first article; NULL: its own story). Signatures and LSH bands of recent
    # articles find the story of a new one, whichever process stores it; they are
    # forgotten once too old to match. An outbox row may be an edit of a sent alert.
    """
    ALTER TABLE articles ADD COLUMN story_id INTEGER REFERENCES articles (id) ON DELETE SET NULL;
    CREATE INDEX articles_story ON articles (story_id) WHERE story_id IS NOT NULL;
    CREATE TABLE story_signatures (
        article_id    INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
        published_at  INTEGER NOT NULL,
        signature     BLOB NOT NULL
    );
    CREATE INDEX story_signatures_published ON story_signatures (published_at);
    CREATE TABLE story_bands (
        band        INTEGER NOT NULL,
        article_id  INTEGER NOT NULL REFERENCES story_signatures (article_id) ON DELETE CASCADE,
        PRIMARY KEY (band, article_id)
    ) WITHOUT ROWID;
    CREATE INDEX story_bands_article ON story_bands (article_id);
    ALTER TABLE outbox ADD COLUMN edits_message_id INTEGER;
    -- A correction finds the alerts sent for its article.
    CREATE INDEX outbox_by_article ON outbox (article_id) WHERE article_id IS NOT NULL;
    """,
    # 10: several processes on one database. A claimed outbox row or feed carries its
    # holder and when the claim runs out; a claim its holder stops renewing (the
    # process died) expires and the work goes to another process. Rows left
    # 'sending' by a release before claims were held are queued again.
    """
    ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
    ALTER TABLE outbox ADD COLUMN claim_expires_at INTEGER;
    UPDATE outbox SET status = 'pending' WHERE status = 'sending';
    CREATE INDEX outbox_claims ON outbox (claim_expires_at) WHERE status = 'sending';
    CREATE INDEX outbox_sending_chat ON outbox (chat_id) WHERE status = 'sending';
    CREATE INDEX outbox_sent_chat ON outbox (chat_id, finished_at) WHERE status = 'sent';
    ALTER TABLE feeds ADD COLUMN claimed_by TEXT;
    ALTER TABLE feeds ADD COLUMN claim_expires_at INTEGER;
    CREATE INDEX feeds_claimed ON feeds (claimed_by) WHERE claimed_by IS NOT NULL;
    """,
    # 11: an article is one row whatever feeds bring it. Its identity across feeds is
    # its canonical URL; article_sources links it to every (feed, item key) it came
    # under. Existing rows keep their stored URL as identity, the oldest of each URL
    # taking it; later copies stay as they are, each known by its own feed and key,
    # so none is ever alerted again. And a feed that moved (301/308 to one target,
    # poll after poll): the target and how many polls in a row answered it.
    """
    ALTER TABLE articles ADD COLUMN canonical_url TEXT;
    UPDATE articles SET canonical_url = url
        WHERE url <> '' AND id IN (SELECT min(id) FROM articles WHERE url <> '' GROUP BY url);
    CREATE UNIQUE INDEX articles_by_canonical_url ON articles (canonical_url);

    CREATE TABLE article_sources (
        feed_id     INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
        item_key    TEXT NOT NULL,
        article_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        PRIMARY KEY (feed_id, item_key)
    ) WITHOUT ROWID;
    CREATE INDEX article_sources_by_article ON article_sources (article_id, feed_id);
    INSERT INTO article_sources (feed_id, item_key, article_id)
        SELECT feed_id, item_key, id FROM articles;

    ALTER TABLE feeds ADD COLUMN redirect_target TEXT;
    ALTER TABLE feeds ADD COLUMN redirect_polls INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE feeds ADD COLUMN previous_url TEXT;  -- the URL before the last move
    """,
    # 12: sealed search segments (storage.search_segments): for each full range of
    # SEGMENT_SIZE article ids, each word's articles as bitmaps, anywhere and in the
    # title. Derived from article_search; an edit of an article unseals its segment.
    """
    CREATE TABLE search_segments (
        first_id  INTEGER PRIMARY KEY,
        last_id   INTEGER NOT NULL,
        articles  INTEGER NOT NULL,
        sealed_at INTEGER NOT NULL
    );
    CREATE TABLE search_words (
        first_id  INTEGER NOT NULL,
        word      TEXT NOT NULL,
        anywhere  BLOB NOT NULL,
        title     BLOB NOT NULL,
        PRIMARY KEY (first_id, word)
    ) WITHOUT ROWID;
    -- What ranking a search's window reads of each match, without its text.
    CREATE INDEX articles_ranking ON articles (id, published_at, story_id);
    -- Edits of articles per segment: a seal built before an edit is not written.
    CREATE TABLE search_edits (
        first_id  INTEGER PRIMARY KEY,
        edits     INTEGER NOT NULL
    );
    """,
]
