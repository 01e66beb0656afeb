"""Settings of the news crawler. Every setting, with its default and why.

Override any of them with ``scrapy ... -s NAME=VALUE``; ``NEWS_DB`` also reads
the environment variable of that name.
"""

import os

from scrapy.settings.default_settings import EXTENSIONS_BASE as _SCRAPY_EXTENSIONS

BOT_NAME = "vnnews"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# --- Storage ---------------------------------------------------------------------
# The SQLite file everything goes to; the environment variable NEWS_DB overrides this default.
NEWS_DB = os.environ.get("NEWS_DB") or "data/news.db"
# Write this many articles per transaction at most...
STORE_BATCH_SIZE = 500
# ...and commit at least this often (seconds), so readers see progress.
STORE_COMMIT_SECONDS = 2.0
STORE_ENABLED = True
# Keep the raw HTML of every article (gzipped, table pages) so `scrapy reextract` can redo extraction offline.
STORE_PAGES = True

# --- Pipeline stages -------------------------------------------------------------
# Worker processes for extraction, so every core works while the engine fetches (0: in the engine's process).
EXTRACT_WORKERS = 2
# Seconds one page may take to extract; a slower page is recorded as a failure and its worker replaced.
EXTRACT_TIMEOUT = 60.0
# Niceness of the workers above the engine's (0-19): every page and record passes through the engine,
# the one process that fetches and writes, so it never waits behind a worker for a core (0: the same).
EXTRACT_WORKERS_NICENESS = 10
# Items with fewer words than this after cleaning are dropped as empty.
NORMALIZE_MIN_WORDS = 1
DEDUPE_ENABLED = True
# Near-duplicates (pipelines/neardup/): MinHash LSH over syllable shingles; figures in docs/benchmarks.md.
NEARDUP_ENABLED = True
# Syllables per shingle (3 measured best; changing it needs `scrapy neardup --rebuild`).
NEARDUP_SHINGLE_SIZE = 3
# MinHash permutations per signature (changing it needs `scrapy neardup --rebuild`).
NEARDUP_NUM_PERM = 128
# Jaccard similarity the LSH bands are tuned to catch as candidates (needs a rebuild when changed).
NEARDUP_CANDIDATE_THRESHOLD = 0.25
# Candidates taken from one LSH bucket at most, its latest articles (0: no limit); keeps the work per article flat.
NEARDUP_BUCKET_LIMIT = 10
# Link two articles when their estimated Jaccard similarity reaches this...
NEARDUP_JACCARD = 0.25
# ...or when this share of the smaller text's shingles is in the other (excerpts, trimmed copies)...
NEARDUP_CONTAINMENT = 0.6
# ...and the smaller text has at least this many shingles (containment of a few lines is noise).
NEARDUP_MIN_SHINGLES = 30
# The second signal, for spun copies (words swapped for synonyms, sentences shuffled;
# pipelines/neardup/spin.py): candidates by the article's anchors (numbers, dates, names),
# verified by aligning the two syllable sequences; and every link needs the same event
# (most anchors and figures shared). Off: the shingle MinHash alone, as before.
NEARDUP_SPIN_ENABLED = True
# Link a candidate when this share of the shorter text aligns with the other, syllable by syllable...
NEARDUP_SPIN_ALIGNMENT = 0.5
# ...and this share of the anchors (and of the figures) of the one with fewer is in the other (every link).
NEARDUP_SPIN_ANCHORS = 0.6
# The one writer: exact dedupe, store, near-duplicate links, failures and run counts
# (pipelines/store.py). The per-page work happens before, in the spiders' worker pool.
ITEM_PIPELINES = {
    "pipelines.store.StorePipeline": 800,
}

# --- Runs ------------------------------------------------------------------------
# Record every run in the crawl_runs table.
CRAWL_RUNS_ENABLED = True
# The crawl_runs row this run fills in instead of adding its own: set by
# `scrapy schedule` for each crawl it starts; 0 = add a row.
CRAWL_RUN_ID = 0
# No listening ports nobody asked for: Scrapy's list without its telnet console and remote control.
# Left out of the base list, not set to None in EXTENSIONS: Scrapy imports every class named
# there, and the remote control brings aiohttp (7 MB and 0.1 s in every command).
_no_ports = {"scrapy.extensions.telnet.TelnetConsole", "scrapy.extensions.remote_control.RemoteControl"}
EXTENSIONS_BASE = {path: order for path, order in _SCRAPY_EXTENSIONS.items() if path not in _no_ports}
EXTENSIONS = {
    # AutoThrottle that never goes below a site's own delay (crawler/middlewares.py).
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawler.middlewares.SiteAutoThrottle": 0,
    # Live progress on a terminal (crawler/progress.py); nothing without one.
    "crawler.progress.ProgressExtension": 500,
}
# Show live progress when standard error is a terminal (cron, systemd and CI get the summary lines only).
PROGRESS_ENABLED = True

# --- Sites ---------------------------------------------------------------------------
# The human-edited list of sites to crawl (YAML; see the comments in the file).
SITES_FILE = "crawler/sites.yml"

# --- The news spider ------------------------------------------------------------------
# Listing pages fetched per URL shape (digits blanked) and site: bounds calendar and paging traps.
NEWS_PATTERN_LIMIT = 30
# Requests from sitemaps and feeds held in Scrapy's scheduler at most; the rest wait in the
# spider as URLs (crawler/frontier.py), so memory does not grow with the size of a sitemap.
NEWS_SCHEDULER_MAX = 1000
# Without og:type or JSON-LD saying so, a page needs this much paragraph text to count as an article.
NEWS_MIN_ARTICLE_CHARS = 500
# Feeds and sitemaps are re-polled with If-None-Match / If-Modified-Since (state in fetch_state).
CONDITIONAL_ENABLED = True
# On 429/503: wait Retry-After (or BACKOFF_SECONDS, doubling) up to BACKOFF_MAX_SECONDS, BACKOFF_TIMES times.
BACKOFF_ENABLED = True
BACKOFF_TIMES = 3
BACKOFF_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 300.0
# Scrapy's duplicate filter, but never kept in JOBDIR: see crawler/middlewares.py RunDupeFilter.
DUPEFILTER_CLASS = "crawler.middlewares.RunDupeFilter"
# Scrapy's JOBDIR queue, but a queue file a killed run left unreadable is started afresh (crawler/queues.py).
SCHEDULER_DISK_QUEUE = "crawler.queues.KillSafeLifoDiskQueue"
DOWNLOADER_MIDDLEWARES = {
    # Scrapy's robots.txt check let through requests that waited for the robots.txt (see the class).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.RobotsTxtMiddleware": 100,
    # Runs after the robots.txt check (100) and sees responses before RetryMiddleware (550).
    "crawler.middlewares.ConditionalGetMiddleware": 560,
    "crawler.middlewares.BackoffMiddleware": 570,
    # Scrapy's meta refresh, at its place, without decoding every page in the engine.
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.MetaRefreshMiddleware": 580,
    # Sees a response before Scrapy's decompression (590), which would keep half of a cut gzip body.
    "crawler.middlewares.GzipPageMiddleware": 595,
}

# --- Many machines (crawler/distributed/, docs/distributed.md) ---------------------------
# A Redis URL (redis://host:6379/0) makes `scrapy crawl news` one of many workers sharing its queue,
# and `scrapy ingest` the one writer; the environment variable REDIS_URL sets it too. Empty: one machine.
REDIS_URL = os.environ.get("REDIS_URL", "")
# Every Redis key starts with this (one Redis can serve several archives).
REDIS_PREFIX = os.environ.get("REDIS_PREFIX", "vnnews")
# Seconds a worker may go silent before its requests in flight go back to the queue (it beats every third of it).
REDIS_WORKER_TIMEOUT = 30.0
# Records the writer takes from Redis per transaction at most.
INGEST_BATCH_SIZE = 200
# `scrapy ingest` stops once no record came for this many seconds, no worker is alive and no run is
# under way (`-a idle=SECONDS` overrides it); 0: it runs until Ctrl-C or SIGTERM.
INGEST_IDLE_SECONDS = 0.0
# Seconds the writer's lock (one `scrapy ingest` per REDIS_PREFIX) outlives a writer that stopped
# without releasing it on another machine (on its own machine a dead writer's lock is taken over at once).
INGEST_LOCK_SECONDS = 30.0
# Turns `scrapy crawl news` into a worker when REDIS_URL is set; nothing otherwise.
ADDONS = {"crawler.distributed.addon.DistributedCrawl": 0}

# --- Schedule (`scrapy schedule`) -----------------------------------------------------
# A crawl running longer than this (seconds) is stopped and recorded as "timeout"; 0 = no limit.
SCHEDULE_CRAWL_TIMEOUT = 3600
# Seconds between asking a crawl to stop (SIGTERM, for a timeout or a shutdown) and killing it.
SCHEDULE_KILL_AFTER = 30
# Crawls of different sites running at once (one site is never crawled twice at once).
SCHEDULE_MAX_CRAWLS = 2
# A site whose last this-many runs failed is reported in the log (and by the crawl_health query).
SCHEDULE_ALERT_AFTER = 3
# Where the per-site lock files and the crawl logs go; empty = "<NEWS_DB stem>-schedule" beside NEWS_DB.
SCHEDULE_STATE_DIR = ""
# Crawl logs kept per site (the oldest are deleted).
SCHEDULE_KEEP_LOGS = 20

# --- Seeds -------------------------------------------------------------------------
# What `scrapy replay` reads when given no path.
SEEDS_DIR = "seeds"
# Larger seed files are refused (and reported) rather than read into memory.
SEEDS_MAX_BYTES = 5_000_000

# --- Politeness --------------------------------------------------------------------
ROBOTSTXT_OBEY = True
# Where site owners can read what this crawler is and who runs it.
CONTACT_URL = "https://github.com/vnnews-crawler"
USER_AGENT = f"vnnews-crawler/0.1 (+{CONTACT_URL})"
# Adapt the pace to each site's response times; the sites file's delay is the floor.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
# Outputs of one callback processed at once. Scrapy starts that many tasks (100 by default) for
# every response whose callback runs, and the callbacks wait for the workers: 88 responses waiting
# held 5 MB of tasks at 8,000 pages. The writer stores one item at a time anyway.
CONCURRENT_ITEMS = 16
# Per-site concurrency and delay come from the sites file (download slot per site).
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# Fail fast when a site is unreachable (no network: a DNS failure), and retry once,
# not in a storm; 429 and 503 are handled by BackoffMiddleware instead.
DNS_TIMEOUT = 10
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 1
RETRY_HTTP_CODES = [500, 502, 504, 522, 524, 408]
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024

LOG_LEVEL = "INFO"
# A stored article logged by its URL and ids, not with its whole text and page (crawler/logformatter.py).
LOG_FORMATTER = "crawler.logformatter.ArticleLogFormatter"
FEED_EXPORT_ENCODING = "utf-8"
