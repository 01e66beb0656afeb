"""``scrapy neardup [--rebuild]``: sign unsigned articles, or recompute every near-duplicate link."""

from __future__ import annotations

import argparse
import logging
import time

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.checks import SettingError, check_settings
from crawler.progress import progress_callback
from crawler.schedule.sitelock import state_dir
from crawler.schedule.state import RunRecorder
from pipelines.db.store import NewsStore, StoreError, database_path
from pipelines.neardup.index import CATCH_UP_BATCH, NearDupConfigError, NearDupIndex, NearDupSettings, progress_logger

logger = logging.getLogger(__name__)


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_LEVEL": "INFO"}

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Link near-duplicate articles in NEWS_DB; --rebuild recomputes them all"

    def long_desc(self) -> str:
        return (
            "Without options, sign and link the articles that have no near-duplicate "
            "signature yet (stored while NEARDUP_ENABLED was off). With --rebuild, "
            "recompute every signature, link and story with the current NEARDUP_* "
            "settings, e.g. after a threshold change; articles are never touched, and "
            "the rebuild is one transaction, so an interrupted one changes nothing."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--rebuild", action="store_true", help="recompute all signatures, links and stories"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            raise UsageError(f"unexpected arguments {args}: neardup takes only --rebuild")
        try:
            check_settings(self.settings)
            settings = NearDupSettings.from_settings(self.settings)
            store = NewsStore.open(database_path(self.settings))
        except (NearDupConfigError, StoreError, SettingError) as exc:
            raise UsageError(str(exc)) from exc
        RunRecorder(store).settle_orphans(state_dir(self.settings))  # runs that killed processes left `running`
        index = NearDupIndex(store, settings)
        started = time.monotonic()
        try:
            total = store.db.execute("SELECT count(*) FROM articles").fetchone()[0]
            if opts.rebuild:
                logger.info("Rebuilding near-duplicates of %d articles", total)
                progress, close = progress_callback(total, "Rebuilding", progress_logger(total))
                try:
                    done = index.rebuild(progress)
                finally:
                    close()
            else:
                index.check_config()
                index.load()
                unsigned = total - store.signed_count()
                progress, close = progress_callback(unsigned, "Signing", progress_logger(unsigned))
                try:
                    done = index.sign_unsigned(progress, commit_every=CATCH_UP_BATCH)
                finally:
                    close()
                index.save_snapshot_if_stale()
            store.commit()
            links, stories = store.db.execute(
                "SELECT (SELECT count(*) FROM near_duplicates), (SELECT count(DISTINCT story_id) FROM articles)"
            ).fetchone()
        except NearDupConfigError as exc:
            logger.error("%s", exc)
            self.exitcode = 1
            return
        finally:
            if store.db.conn.in_transaction:  # interrupted: an unfinished rebuild changes nothing
                store.db.conn.execute("ROLLBACK")
            store.close()
        print(
            f"Signed {done} articles in {time.monotonic() - started:.1f} s: "
            f"{links} near-duplicate links, {stories} stories, {total} articles"
        )
