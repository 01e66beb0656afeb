# Two commands on a fresh machine: `make run` and `make test`. See README.md and docs/.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
NEWS_DB ?= data/news.db
PORT ?= 8001
CRAWL_LOG ?= data/crawl.log
export NEWS_DB

.PHONY: install browser redis run replay crawl schedule browse test soak bench clean

# The stamp is rebuilt when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# One summary line on the terminal (a progress bar while it runs); the whole log goes to $(REPLAY_LOG).
REPLAY_LOG ?= data/replay.log
replay: install
	@mkdir -p $(dir $(REPLAY_LOG))
	@$(BIN)/scrapy replay -s LOG_FILE=$(REPLAY_LOG) -s LOG_FILE_APPEND=False || \
		{ status=$$?; echo "The replay reported failures: see $(REPLAY_LOG)."; exit $$status; }

# One line per site on the terminal; the whole log goes to $(CRAWL_LOG). A failed crawl
# (no network) does not stop `make run`: the failures are in the database.
crawl: install
	@mkdir -p $(dir $(CRAWL_LOG))
	@echo "Crawling the sites of crawler/sites.yml into $(NEWS_DB) (log: $(CRAWL_LOG))"
	@$(BIN)/scrapy crawl news -s LOG_FILE=$(CRAWL_LOG) -s LOG_FILE_APPEND=False; status=$$?; \
		grep -h '\[pipelines.runs\]' $(CRAWL_LOG) | sed 's/^[^]]*\] [A-Z]*: //'; \
		[ $$status -eq 0 ] || echo "The crawl stopped with an error: see $(CRAWL_LOG)."

# Datasette with the project's metadata, templates and plugins (datasette_meta/).
# The database is always served as `news`, whatever its file name (see the plugin).
# Facet suggestions query every column of every table page: too slow on a large archive.
DATASETTE_ARGS := --metadata datasette_meta/metadata.yml --template-dir datasette_meta/templates \
	--plugins-dir datasette_meta/plugins --setting suggest_facets off

browse: install
	@# An archive of an older version gets its new tables (what every command does on opening it).
	@if [ -f "$(NEWS_DB)" ]; then $(BIN)/python -m pipelines.db.store "$(NEWS_DB)"; fi
	$(BIN)/datasette serve "$(NEWS_DB)" $(DATASETTE_ARGS) --host 127.0.0.1 --port $(PORT)

# The browser tests drive Debian's Chromium through its chromedriver (no browser download at test time).
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
export CHROMIUM CHROMEDRIVER
browser:
	@if [ -x "$(CHROMIUM)" ] && [ -x "$(CHROMEDRIVER)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing chromium and chromium-driver for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else \
		echo "The browser tests need Chromium and its driver at $(CHROMIUM) and $(CHROMEDRIVER):"; \
		echo "  sudo apt-get install chromium chromium-driver   (Debian/Ubuntu; or set CHROMIUM=... CHROMEDRIVER=...)"; \
	fi

# The distributed-crawl tests start Debian's redis-server on a free loopback port (tests/redis_server.py).
redis:
	@if command -v redis-server >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing redis-server for the distributed-crawl tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; \
	else \
		echo "The distributed-crawl tests need redis-server:"; \
		echo "  sudo apt-get install redis-server   (Debian/Ubuntu)"; \
	fi

# The long-lived scheduler: each site of crawler/sites.yml on its own schedule, until Ctrl-C.
schedule: install
	$(BIN)/scrapy schedule

run: replay crawl browse

test: install browser redis
	$(BIN)/python -m pytest

# The long kill-and-resume runs (tests/test_kills.py, marker `soak`): 20 random kills of a 300-article
# crawl, 10 of a replay, 5 of a re-extraction; and a minute of crawls, replays, re-extractions and the
# scheduler writing while Datasette is read (tests/test_everything_at_once.py). A few minutes; not part
# of `make test`. KILL_SEED=N repeats a kill run; SOAK_SECONDS=N sets the minute.
soak: install
	$(BIN)/python -m pytest -n 0 -s -m soak tests/test_kills.py tests/test_everything_at_once.py

# Every bench/bench_*.py, one after the other (a few minutes; not part of `make test`).
bench: install
	@for script in bench/bench_*.py; do echo "### $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
