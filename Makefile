# Two commands on a fresh machine: `make run` and `make test`. See README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
NEWS_DB ?= data/news.db
PORT ?= 8001
export NEWS_DB

.PHONY: install run replay crawl browse test bench clean

# The stamp is rebuilt when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

replay: install
	$(BIN)/scrapy replay

crawl: install
	@if $(BIN)/scrapy list | grep -qx news; then \
		$(BIN)/scrapy crawl news || echo "Crawl finished with errors: see the failures table."; \
	else \
		echo "No 'news' spider yet: crawling skipped, serving the seed records."; \
	fi

browse: install
	$(BIN)/datasette serve "$(NEWS_DB)" --metadata datasette_meta/metadata.yml \
		--host 127.0.0.1 --port $(PORT)

run: replay crawl browse

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache
