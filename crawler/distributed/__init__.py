"""The crawl on many machines: scrapy-redis's scheduler, queue and duplicate filter over one Redis.

With ``REDIS_URL`` set (a setting, or the environment variable), ``scrapy crawl news`` is one of
any number of workers: they share the run's request queue, its fingerprints and the URLs it
asked for, each site's pace, the URLs stored already and the feeds' validators, all in Redis.
Each worker fetches and runs the per-page function locally and pushes the finished records to a
Redis list; ``scrapy ingest`` (the one writer, on the machine with the database) drains that list
into SQLite through the same store pipeline as a crawl on one machine.

- :mod:`.connection`: the Redis client and every key this project uses (one prefix).
- :mod:`.addon`: turns a crawl into a worker when ``REDIS_URL`` is set (nothing changes otherwise).
- :mod:`.scheduler`: scrapy-redis's scheduler with requests held in flight per worker until done.
- :mod:`.pace`: each site's ``delay``, ``concurrency`` and Retry-After, kept in Redis for all workers.
- :mod:`.worker`: what a worker sends the writer (records, failures, its run) instead of writing.
- :mod:`.records`: the queue of finished records, pushed by workers, drained by the writer.
- :mod:`.archive`: what a worker asks of the archive (stored URLs, validators), from Redis.
- :mod:`.writer`: the one writer's lock, and the mirrors of the archive it keeps in Redis.
- :mod:`.runs`: the workers' runs in ``crawl_runs``, from their run records.
"""
