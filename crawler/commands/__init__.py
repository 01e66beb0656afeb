"""Project commands: one Scrapy command per module (``scrapy <module name>``)."""
