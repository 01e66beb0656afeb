"""Item pipeline stages: extract, normalize, dedupe, store (see crawler/settings.py)."""
