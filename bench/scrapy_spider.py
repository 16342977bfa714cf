"""The peer in bench/crawl.py: the smallest Scrapy spider that crawls a whole site.

It follows every in-scope link and yields {url, title}, which is what a naive scraper
keeps; run it with `scrapy runspider bench/scrapy_spider.py -a start_url=URL -O out.jsonl`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor


class SiteSpider(scrapy.Spider):
    """Settings match the harvester run: 16 requests in flight, no delay, robots.txt obeyed."""

    name = "site"
    custom_settings = {  # noqa: RUF012 - Scrapy reads it from the class
        "ROBOTSTXT_OBEY": True,
        "DOWNLOAD_DELAY": 0,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "AUTOTHROTTLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
    }

    def __init__(self, start_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        parts = urlsplit(start_url)
        self.start_urls = [start_url]
        self.allowed_domains = [parts.hostname or ""]
        self.links = LinkExtractor(allow_domains=[parts.netloc])  # it compares host:port

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        if not isinstance(response, TextResponse):  # nothing to read or follow
            return
        yield {"url": response.url, "title": response.css("title::text").get()}
        for link in self.links.extract_links(response):
            yield response.follow(link, self.parse)
