"""Why a request of the crawl gave no usable page, as the ``failures`` table says it.

A pure function over Scrapy's failure and the settings, so that the person browsing ``failures``
reads a sentence, and a test can check each one (tests/test_faults_site.py, docs/faults.md).
"""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import DownloadCancelledError, DownloadTimeoutError, IgnoreRequest, ResponseDataLossError
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.middlewares import BackoffMiddleware, TruncatedResponse

__all__ = ["fetch_reason"]


def max_size(meta: dict[str, Any], settings: Any) -> int:
    """The most bytes a request's page may have: Scrapy's ``download_maxsize`` in its ``meta``, else
    ``DOWNLOAD_MAXSIZE``."""
    return meta.get("download_maxsize", settings.getint("DOWNLOAD_MAXSIZE"))


def fetch_reason(failure: Failure, settings: Any) -> str:
    """Why a request gave no usable page, in words a person reading ``failures`` understands.

    Some of Scrapy's download errors carry no message at all (a connection reset mid-body, a
    size limit hit without a Content-Length): ``"ResponseDataLossError: "`` said nothing to the
    person browsing the failures, so each known fault gets a sentence, the exception's name kept
    in brackets for searching.
    """
    request = failure.request  # type: ignore[attr-defined]
    if failure.check(HttpError):
        response = failure.value.response
        reason = f"HTTP {response.status}"
        location = response.headers.get(b"Location")
        if 300 <= response.status < 400 and location:
            # Scrapy follows redirects to http(s) only: anything else (file:, ftp:, data:) ends here.
            target = location.decode("latin-1")[:200]
            if target.split(":", 1)[0].lower() not in ("http", "https") and ":" in target.split("/", 1)[0]:
                return f"{reason}: redirect to {target} not followed (only http and https URLs are)"
            return f"{reason}: redirect to {target} not followed"
        if response.status in BackoffMiddleware.CODES and request.meta.get("backoff_tries"):
            return f"{reason}: still refused after {request.meta['backoff_tries']} waits (BACKOFF_TIMES)"
        return reason
    maxsize = max_size(request.meta, settings)
    timeout = request.meta.get("download_timeout", settings.getfloat("DOWNLOAD_TIMEOUT"))
    if failure.check(DownloadTimeoutError):
        return f"timed out: the page took longer than DOWNLOAD_TIMEOUT={timeout:g} s (DownloadTimeoutError)"
    if failure.check(DownloadCancelledError):
        return (f"too large: the page is over DOWNLOAD_MAXSIZE={maxsize} bytes, download stopped "
                "(DownloadCancelledError)")
    if failure.check(ResponseDataLossError):
        return "connection lost mid-page: fewer bytes came than the server announced (ResponseDataLossError)"
    if failure.check(TruncatedResponse):
        return failure.getErrorMessage()
    if failure.check(IgnoreRequest) and "max redirections" in failure.getErrorMessage():
        times = settings.getint("REDIRECT_MAX_TIMES")
        return f"too many redirects: over REDIRECT_MAX_TIMES={times} (a redirect loop?) (IgnoreRequest)"
    message = failure.getErrorMessage()
    return f"{failure.type.__name__}: {message}" if message else failure.type.__name__
