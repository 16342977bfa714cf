"""Webhook sink: change events POSTed as signed Standard Webhooks messages.

Each message carries up to `batch` events and is signed with HMAC-SHA256 over
"{webhook-id}.{webhook-timestamp}.{body}", so receivers can check who sent it and drop
replays. The webhook-id depends only on the message's events, so a message sent again
(after a timeout, or on the next run) carries the same id and receivers can drop it.
Timeouts, connection errors, 429 and 5xx are retried with backoff; other 4xx are final.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from ..changes import Event
from ..fetch import retry_after
from ..settings import DEFAULT_USER_AGENT
from . import DeadLetter, SinkError, sink_name

log = logging.getLogger("harvester")
MESSAGE_TYPE = "harvester.changes"
SECRET_PREFIX = "whsec_"
RETRY_STATUSES = frozenset({408, 429})  # and every 5xx


class _Retry(Exception):
    """This attempt failed in a way another attempt may not."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait  # what the receiver asked for (Retry-After), if it did


class WebhookSink:
    """POSTs events in signed messages of at most `batch` events, in order."""

    def __init__(
        self,
        url: str,
        batch: int = 100,
        secret_env: str = "HARVESTER_WEBHOOK_SECRET",
        timeout: float = 10.0,
        max_attempts: int = 6,
        sleep: Callable[[float], None] = time.sleep,
        client: httpx.Client | httpx.BaseTransport | None = None,
        *,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        max_retry_after: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if batch < 1:
            raise SinkError(f"webhook batch size must be at least 1, not {batch}")
        self.name = sink_name(url)
        self._url = url
        self._key = _signing_key(secret_env)
        self._batch = batch
        self._max_attempts = max(1, max_attempts)
        self._sleep = sleep
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._max_retry_after = max_retry_after
        self._clock = clock
        self._owns_client = not isinstance(client, httpx.Client)
        if isinstance(client, httpx.Client):
            self._client = client
        else:
            self._client = httpx.Client(
                timeout=timeout,
                transport=client,
                follow_redirects=False,  # a redirected POST is a misconfigured sink
                headers={"user-agent": DEFAULT_USER_AGENT},
            )

    def deliver(self, events: Sequence[Event]) -> list[DeadLetter]:
        """Every message accepted, or dead-lettered on a final 4xx; else SinkError."""
        dead: list[DeadLetter] = []
        for start in range(0, len(events), self._batch):
            dead += self._send(events[start : start + self._batch])
        return dead

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def _send(self, events: Sequence[Event]) -> list[DeadLetter]:
        msg_id = message_id(events)
        body = message_body(events, self._clock())
        for attempt in range(1, self._max_attempts + 1):
            try:
                return self._post(msg_id, body, events)
            except _Retry as retry:
                if attempt == self._max_attempts:
                    raise SinkError(
                        f"webhook {self.name}: {retry.reason} after {attempt} attempts; "
                        f"{len(events)} events stay in the outbox"
                    ) from None
                wait = self._wait(attempt, retry)
                log.info(
                    "webhook %s: %s (attempt %d of %d), next try in %.1f s",
                    self.name,
                    retry.reason,
                    attempt,
                    self._max_attempts,
                    wait,
                )
                self._sleep(wait)
        raise AssertionError("unreachable")

    def _wait(self, attempt: int, retry: _Retry) -> float:
        """Retry-After when given, else exponential backoff with full jitter."""
        if retry.wait is None:
            return random.uniform(0.0, min(self._max_backoff, self._backoff * 2 ** (attempt - 1)))
        if retry.wait > self._max_retry_after:
            raise SinkError(
                f"webhook {self.name}: {retry.reason} and asked to wait {retry.wait:.0f} s "
                f"(more than {self._max_retry_after:.0f} s); events stay in the outbox"
            )
        return retry.wait

    def _post(self, msg_id: str, body: bytes, events: Sequence[Event]) -> list[DeadLetter]:
        headers = sign(self._key, msg_id, int(self._clock()), body)
        headers["content-type"] = "application/json"
        try:
            response = self._client.post(self._url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise _Retry("timed out") from None
        except httpx.TransportError as exc:
            raise _Retry(self._scrub(_transport_reason(exc))) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise SinkError(f"webhook {self.name}: {self._scrub(str(exc))}") from None
        status = response.status_code
        if 200 <= status < 300:
            log.debug("webhook %s: %s accepted (%d events)", self.name, msg_id, len(events))
            return []
        if status in RETRY_STATUSES or status >= 500:
            wait = retry_after(response.headers.get("retry-after"), math.inf)
            raise _Retry(f"HTTP {status}", wait)
        if 400 <= status < 500:
            message = self._scrub(_refusal(response))
            log.info("webhook %s: %s refused for good: %s", self.name, msg_id, message)
            return [DeadLetter(event.event_id, status, message) for event in events]
        raise SinkError(  # 1xx, 3xx: not an answer a webhook receiver gives
            f"webhook {self.name}: unexpected HTTP {status}; "
            "redirects are not followed: give the final URL"
        )

    def _scrub(self, text: str) -> str:
        """Errors and receivers may echo the URL: never let its credentials through."""
        parts = urlsplit(self._url)
        text = text.replace(self._url, self.name)
        userinfo = parts.netloc.rpartition("@")[0]
        password = parts.password or ""
        for secret in sorted({userinfo, password, unquote(password), parts.query}, key=len)[::-1]:
            if secret:
                text = text.replace(secret, "…")
        return text


def message_id(events: Sequence[Event]) -> str:
    """One event: its id. More: a digest of their ids. The same events, the same id."""
    if len(events) == 1:
        return events[0].event_id
    ids = "\n".join(event.event_id for event in events)
    return "batch_" + hashlib.sha256(ids.encode("utf-8")).hexdigest()[:32]


def message_body(events: Sequence[Event], now: float) -> bytes:
    payload: dict[str, Any] = {
        "type": MESSAGE_TYPE,
        "timestamp": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        "data": [event.to_dict() for event in events],
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers: v1 is base64 HMAC-SHA256 of "{id}.{ts}.{body}"."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode("ascii"),
    }


def _signing_key(env: str) -> bytes:
    """The key from "whsec_" + base64 (the Standard Webhooks form), or raw bytes."""
    secret = os.environ.get(env)
    if not secret:
        raise SinkError(f"webhook sink: set the signing secret in the environment variable {env}")
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode("utf-8")
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise SinkError(f"webhook sink: {env} starts with whsec_ but is not base64") from None
    if not key:
        raise SinkError(f"webhook sink: {env} holds an empty key")
    return key


def _transport_reason(exc: httpx.TransportError) -> str:
    """httpx says "All connection attempts failed"; the OS error below says why."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return f"connection failed ({cause.strerror})"
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__


def _refusal(response: httpx.Response) -> str:
    """HTTP status and the start of what the receiver said, on one line."""
    text = " ".join(response.text.split())[:200]
    head = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
    return f"{head}: {text}" if text else head


__all__ = ["WebhookSink", "message_body", "message_id", "sign"]
