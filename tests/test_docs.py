"""The README documents every setting and every project command."""

import ast
import re

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
# Scrapy's own settings, documented by Scrapy.
SCRAPY_SETTINGS = {
    "BOT_NAME", "SPIDER_MODULES", "NEWSPIDER_MODULE", "COMMANDS_MODULE", "ITEM_PIPELINES", "EXTENSIONS", "EXTENSIONS_BASE",
    "ROBOTSTXT_OBEY", "USER_AGENT", "LOG_LEVEL", "FEED_EXPORT_ENCODING", "DOWNLOADER_MIDDLEWARES",
    "SPIDER_MIDDLEWARES", "AUTOTHROTTLE_ENABLED", "AUTOTHROTTLE_START_DELAY", "AUTOTHROTTLE_MAX_DELAY",
    "AUTOTHROTTLE_TARGET_CONCURRENCY", "CONCURRENT_REQUESTS", "CONCURRENT_REQUESTS_PER_DOMAIN",
    "DOWNLOAD_DELAY", "DOWNLOAD_TIMEOUT", "RETRY_TIMES", "RETRY_HTTP_CODES", "HTTPERROR_ALLOWED_CODES",
    "DEPTH_LIMIT", "TWISTED_REACTOR", "REQUEST_FINGERPRINTER_IMPLEMENTATION", "JOBDIR",
    "DOWNLOAD_HANDLERS", "DOWNLOAD_MAXSIZE", "DOWNLOAD_WARNSIZE", "REDIRECT_ENABLED", "COOKIES_ENABLED",
    "HTTPCACHE_ENABLED", "LOG_FORMAT", "LOGSTATS_INTERVAL", "DNS_TIMEOUT", "SCHEDULER_PRIORITY_QUEUE",
    "DEPTH_PRIORITY", "SCHEDULER_DISK_QUEUE", "SCHEDULER_MEMORY_QUEUE", "METAREFRESH_ENABLED",
}


def project_settings() -> set[str]:
    tree = ast.parse((ROOT / "crawler" / "settings.py").read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names |= {t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()}
    return names


def test_every_project_setting_is_in_the_readme():
    missing = sorted(name for name in project_settings() - SCRAPY_SETTINGS if f"`{name}`" not in README)
    assert not missing, f"settings not documented in README.md: {missing}"


def test_every_project_command_is_in_the_readme():
    commands = [p.stem for p in (ROOT / "crawler" / "commands").glob("*.py") if p.stem != "__init__"]
    assert commands
    missing = [name for name in commands if not re.search(rf"`scrapy {name}\b", README)]
    assert not missing, f"commands not documented in README.md: {missing}"


def test_readme_starts_with_the_two_commands():
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
