"""Settings of the news crawler. Every setting, with its default and why.

Override any of them with ``scrapy ... -s NAME=VALUE``; ``NEWS_DB`` also reads
the environment variable of that name.
"""

import os

BOT_NAME = "vnnews"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# --- Storage ---------------------------------------------------------------------
# The SQLite file everything goes to; the environment variable NEWS_DB overrides this default.
NEWS_DB = os.environ.get("NEWS_DB") or "data/news.db"
# Write this many articles per transaction at most...
STORE_BATCH_SIZE = 100
# ...and commit at least this often (seconds), so readers see progress.
STORE_COMMIT_SECONDS = 2.0
STORE_ENABLED = True
# Keep the raw HTML of every article (gzipped, table pages) so `scrapy reextract` can redo extraction offline.
STORE_PAGES = True

# --- Pipeline stages -------------------------------------------------------------
EXTRACT_ENABLED = True
NORMALIZE_ENABLED = True
# Items with fewer words than this after cleaning are dropped as empty.
NORMALIZE_MIN_WORDS = 1
DEDUPE_ENABLED = True
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 300,
    "pipelines.normalize.NormalizePipeline": 400,
    "pipelines.dedupe.DedupePipeline": 500,
    "pipelines.store.StorePipeline": 800,
}

# --- Runs ------------------------------------------------------------------------
# Record every run in the crawl_runs table.
CRAWL_RUNS_ENABLED = True
EXTENSIONS = {
    "crawler.extensions.CrawlRunsExtension": 100,
    # No listening ports nobody asked for.
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.remote_control.RemoteControl": None,
}

# --- Sites ---------------------------------------------------------------------------
# The human-edited list of sites to crawl (YAML; see the comments in the file).
SITES_FILE = "crawler/sites.yml"

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

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
