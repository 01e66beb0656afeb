"""The Scrapy project: settings, items, spiders, middlewares and commands."""
