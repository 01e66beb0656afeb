"""The docs: the README is short and links every page of docs/; docs/ documents every setting and
every project command, and each command's --help says what its section of docs/commands.md says."""

from __future__ import annotations

import argparse
import ast
import importlib
import re
from pathlib import Path

import pytest
from scrapy.commands import ScrapyCommand
from scrapy.settings import Settings

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = ROOT / "docs"
COMMANDS_PAGE = (DOCS / "commands.md").read_text(encoding="utf-8")
SETTINGS_PAGE = (DOCS / "settings.md").read_text(encoding="utf-8")
COMMANDS = sorted(p.stem for p in (ROOT / "crawler" / "commands").glob("*.py") if p.stem != "__init__")
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
# A page of docs/ linked from the README or another page: [text](target) outside code.
LINK = re.compile(r"\]\(([^)\s]+)\)")


def words(text: str) -> str:
    """Text with Markdown's code marks and table bars dropped and whitespace run together."""
    return " ".join(text.replace("`", "").replace("|", " ").split())


def project_settings() -> set[str]:
    tree = ast.parse((ROOT / "crawler" / "settings.py").read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names |= {t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()}
    return names


def anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {anchor(match) for match in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def section(page: str, heading: str) -> str:
    """The text of a ``## heading`` section of a page, up to the next ``## ``."""
    start = page.index(f"\n## {heading}\n")
    end = page.find("\n## ", start + 1)
    return page[start : end if end > 0 else None]


def test_every_project_setting_is_in_the_settings_page():
    missing = sorted(name for name in project_settings() - SCRAPY_SETTINGS if f"`{name}`" not in SETTINGS_PAGE)
    assert not missing, f"settings not documented in docs/settings.md: {missing}"


def test_every_project_command_has_its_section():
    assert COMMANDS
    missing = [name for name in COMMANDS if not re.search(rf"^## `scrapy {name}\b", COMMANDS_PAGE, re.MULTILINE)]
    assert not missing, f"commands without a section in docs/commands.md: {missing}"


def command_help(name: str) -> tuple[ScrapyCommand, list[argparse.Action]]:
    """The command and the options it adds to those of its parent class, as ``scrapy NAME -h`` lists them."""
    command = importlib.import_module(f"crawler.commands.{name}").Command()
    command.settings = Settings()
    own, inherited = argparse.ArgumentParser(), argparse.ArgumentParser()
    command.add_options(own)
    super(type(command), command).add_options(inherited)
    known = {action.dest for action in inherited._actions}
    return command, [action for action in own._actions if action.dest not in known]


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_help_says_what_its_page_says(name):
    command, options = command_help(name)
    heading = "`scrapy crawl news`" if name == "crawl" else f"`scrapy {name}`"
    page = words(section(COMMANDS_PAGE, heading))
    assert words(command.short_desc()) in page
    assert words(command.long_desc()) in page
    for option in options:
        assert option.option_strings[-1] in page and words(option.help) in page, option.option_strings


def test_readme_starts_with_the_two_commands():
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_readme_is_short_and_links_every_page_of_docs():
    assert len(README) < 6000
    linked = {target.partition("#")[0] for target in LINK.findall(README) if target.startswith("docs/")}
    assert linked == {f"docs/{page.name}" for page in DOCS.glob("*.md")}


@pytest.mark.parametrize("page", sorted([ROOT / "README.md", *DOCS.glob("*.md")]), ids=lambda p: p.name)
def test_links_between_pages_lead_somewhere(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://")):
            continue
        path, _, fragment = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target}"
        if fragment:
            assert fragment in headings(linked), f"{page.name}: {target}"


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
