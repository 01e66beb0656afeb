# Two commands on a fresh machine: `make run` and `make test`. See README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
NEWS_DB ?= data/news.db
PORT ?= 8001
CRAWL_LOG ?= data/crawl.log
export NEWS_DB

.PHONY: install run replay crawl schedule browse test bench clean

# The stamp is rebuilt when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

replay: install
	$(BIN)/scrapy replay

# One line per site on the terminal; the whole log goes to $(CRAWL_LOG). A failed crawl
# (no network) does not stop `make run`: the failures are in the database.
crawl: install
	@mkdir -p $(dir $(CRAWL_LOG))
	@echo "Crawling the sites of crawler/sites.yml into $(NEWS_DB) (log: $(CRAWL_LOG))"
	@$(BIN)/scrapy crawl news -s LOG_FILE=$(CRAWL_LOG) -s LOG_FILE_APPEND=False; status=$$?; \
		grep -h '\[crawler.extensions\]' $(CRAWL_LOG) | sed 's/^[^]]*\] [A-Z]*: //'; \
		[ $$status -eq 0 ] || echo "The crawl stopped with an error: see $(CRAWL_LOG)."

browse: install
	$(BIN)/datasette serve "$(NEWS_DB)" --metadata datasette_meta/metadata.yml \
		--host 127.0.0.1 --port $(PORT)

# The long-lived scheduler: each site of crawler/sites.yml on its own schedule, until Ctrl-C.
schedule: install
	$(BIN)/scrapy schedule

run: replay crawl browse

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache
