"""The webhook sink against a real local receiver: signatures a Standard Webhooks receiver
accepts, retries that lose nothing, Retry-After, dead letters, batching, and secrets
that never leak into errors or logs."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from harvester.changes import Event
from harvester.sinks import DeadLetter, SinkError, open_sink
from harvester.sinks.webhook import WebhookSink

SECRET = "whsec_" + base64.b64encode(b"k" * 24 + bytes(range(8))).decode()
ENV = "HARVESTER_WEBHOOK_SECRET"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def data(self) -> list[dict[str, Any]]:
        return json.loads(self.body)["data"]  # type: ignore[no-any-return]


@dataclass
class Receiver:
    """Records every request; answers from `script` in turn, then 200."""

    url: str
    received: list[Received] = field(default_factory=list)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> tuple[int, dict[str, str]]:
        with self.lock:
            return self.script.pop(0) if self.script else (200, {})


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with self.receiver.lock:
            self.receiver.received.append(
                Received({k.lower(): v for k, v in self.headers.items()}, body)
            )
        status, headers = self.receiver.answer()
        reply = b"bad event" if status == 400 else b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    class Handler(_Handler):
        pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    Handler.receiver = Receiver(f"http://127.0.0.1:{httpd.server_address[1]}/hook")
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield Handler.receiver
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(ENV, SECRET)
    return SECRET


class Sleeps(list[float]):
    """A sleep that only remembers what it was asked to wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def events(n: int) -> list[Event]:
    return [
        Event(
            hashlib.sha256(str(i).encode()).hexdigest()[:32],
            "created",
            f"r{i}",
            f"https://site.example/{i}",
            "2024-05-01T12:00:00+00:00",
            f"h{i}",
            {"id": f"r{i}", "title": f"Page {i} é"},
        )
        for i in range(n)
    ]


OPENED: list[WebhookSink] = []


@pytest.fixture(autouse=True)
def close_sinks() -> Iterator[None]:
    yield
    while OPENED:
        OPENED.pop().close()


def sink(url: str, sleeps: Sleeps | None = None, **kwargs: Any) -> WebhookSink:
    """A sink that never really sleeps, closed after the test."""
    OPENED.append(WebhookSink(url, sleep=sleeps if sleeps is not None else Sleeps(), **kwargs))
    return OPENED[-1]


def verify_by_spec(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks verification written from the spec, not from the sink."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body.decode()}"
    expected = base64.b64encode(hmac.new(key, signed.encode(), hashlib.sha256).digest())
    if abs(time.time() - int(headers["webhook-timestamp"])) > 300:
        return False
    return any(
        version == "v1" and hmac.compare_digest(sig.encode(), expected)
        for version, _, sig in (s.partition(",") for s in headers["webhook-signature"].split())
    )


def test_signature_verifies_by_the_spec(receiver: Receiver) -> None:
    batch = events(3)
    assert sink(receiver.url).deliver(batch) == []
    [message] = receiver.received
    assert message.headers["content-type"] == "application/json"
    assert verify_by_spec(SECRET, message.headers, message.body)
    assert not verify_by_spec(
        "whsec_" + base64.b64encode(b"x" * 32).decode(), message.headers, message.body
    )
    payload = json.loads(message.body)
    assert payload["type"] == "harvester.changes"
    assert payload["timestamp"].endswith("+00:00")
    assert payload["data"] == [event.to_dict() for event in batch]


def test_signature_verifies_with_the_standardwebhooks_library(receiver: Receiver) -> None:
    standardwebhooks = pytest.importorskip("standardwebhooks")
    sink(receiver.url, batch=2).deliver(events(3))
    for message in receiver.received:
        payload = standardwebhooks.Webhook(SECRET).verify(message.body, message.headers)
        assert payload["type"] == "harvester.changes"


def test_a_secret_without_prefix_is_the_raw_key(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, "plain shared secret")
    sink(receiver.url).deliver(events(1))
    [message] = receiver.received
    h = message.headers
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + message.body
    digest = hmac.new(b"plain shared secret", signed, hashlib.sha256).digest()
    assert h["webhook-signature"] == "v1," + base64.b64encode(digest).decode()


def test_webhook_id_is_the_event_id_alone_and_stable_for_a_batch(receiver: Receiver) -> None:
    batch = events(5)
    sink(receiver.url, batch=1).deliver(batch[:2])
    assert [m.headers["webhook-id"] for m in receiver.received] == [e.event_id for e in batch[:2]]
    receiver.received.clear()
    sink(receiver.url).deliver(batch)
    sink(receiver.url).deliver(batch)
    sink(receiver.url).deliver(batch[1:])
    first, again, other = (m.headers["webhook-id"] for m in receiver.received)
    assert first == again != other


def test_503_twice_then_200_loses_nothing_and_keeps_order(receiver: Receiver) -> None:
    receiver.script = [(503, {}), (503, {})]
    batch, sleeps = events(7), Sleeps()
    assert sink(receiver.url, sleeps, batch=3).deliver(batch) == []
    by_id: dict[str, list[dict[str, Any]]] = {}
    for message in receiver.received:
        assert verify_by_spec(SECRET, message.headers, message.body)
        by_id.setdefault(message.headers["webhook-id"], message.data)
    delivered = [event["event_id"] for data in by_id.values() for event in data]
    assert delivered == [event.event_id for event in batch]
    assert len(receiver.received) == 5  # the first message three times, then two
    assert len(sleeps) == 2 and all(0 <= wait <= 2.0 for wait in sleeps)  # full jitter


def test_retry_after_is_honoured_in_seconds_and_as_a_date(receiver: Receiver) -> None:
    later = email.utils.formatdate(time.time() + 120, usegmt=True)
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    receiver.script = [
        (429, {"Retry-After": "7"}),
        (503, {"Retry-After": later}),
        (503, {"Retry-After": past}),
    ]
    sleeps = Sleeps()
    assert sink(receiver.url, sleeps).deliver(events(2)) == []
    assert sleeps[0] == 7
    assert 100 < sleeps[1] <= 120
    assert sleeps[2] == 0
    assert len({m.headers["webhook-id"] for m in receiver.received}) == 1


def test_retry_after_beyond_the_limit_gives_up_at_once(receiver: Receiver) -> None:
    receiver.script = [(503, {"Retry-After": "3600"})]
    sleeps = Sleeps()
    with pytest.raises(SinkError, match="3600 s"):
        sink(receiver.url, sleeps, max_retry_after=300).deliver(events(2))
    assert sleeps == [] and len(receiver.received) == 1


def test_a_400_dead_letters_its_message_and_the_others_still_go(receiver: Receiver) -> None:
    receiver.script = [(200, {}), (400, {})]
    batch, sleeps = events(6), Sleeps()
    dead = sink(receiver.url, sleeps, batch=2).deliver(batch)
    assert [d.event_id for d in dead] == [e.event_id for e in batch[2:4]]
    assert all(isinstance(d, DeadLetter) and d.status == 400 for d in dead)
    assert "bad event" in dead[0].message
    assert [len(m.data) for m in receiver.received] == [2, 2, 2]
    assert sleeps == []


def test_persistent_5xx_raises_after_max_attempts(receiver: Receiver) -> None:
    receiver.script = [(500, {})] * 10
    sleeps = Sleeps()
    with pytest.raises(SinkError, match="HTTP 500 after 4 attempts"):
        sink(receiver.url, sleeps, max_attempts=4, batch=1).deliver(events(3))
    assert len(receiver.received) == 4  # the first message only: the rest stay unsent
    assert len(sleeps) == 3
    assert [0 <= w <= cap for w, cap in zip(sleeps, (1, 2, 4), strict=True)] == [True] * 3


def test_a_receiver_down_raises_without_leaking_secrets(
    free_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://hook-user:hunter2-pass@127.0.0.1:{free_port}/hook?token=tok-123"
    sleeps = Sleeps()
    caplog.set_level(logging.DEBUG, logger="harvester")
    with pytest.raises(SinkError) as error:
        sink(url, sleeps, max_attempts=3).deliver(events(2))
    text = str(error.value)
    assert f"127.0.0.1:{free_port}/hook" in text and "after 3 attempts" in text
    assert len(sleeps) == 2
    for leak in ("hunter2-pass", "hook-user", "tok-123", SECRET, SECRET[6:]):
        assert leak not in text
        assert leak not in caplog.text


def test_a_timeout_is_retried() -> None:
    calls: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(204)

    sleeps = Sleeps()
    hook = sink("https://hooks.example/in", sleeps, client=httpx.MockTransport(handle))
    assert hook.deliver(events(1)) == []
    assert len(calls) == 2 and len(sleeps) == 1
    assert calls[0].headers["webhook-id"] == calls[1].headers["webhook-id"]


def test_a_missing_secret_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV)
    with pytest.raises(SinkError, match=ENV):
        WebhookSink("https://hooks.example/in")
    monkeypatch.setenv("OTHER_SECRET", "whsec_!!not base64!!")
    with pytest.raises(SinkError, match="OTHER_SECRET") as error:
        WebhookSink("https://hooks.example/in", secret_env="OTHER_SECRET")
    assert "not base64!!" not in str(error.value)


def test_250_events_in_batches_of_100_make_3_messages(receiver: Receiver) -> None:
    batch = events(250)
    hook = open_sink(receiver.url, batch=100)
    assert hook.name == receiver.url
    assert hook.deliver(batch) == []
    hook.close()
    assert [len(m.data) for m in receiver.received] == [100, 100, 50]
    delivered = [event["event_id"] for m in receiver.received for event in m.data]
    assert delivered == [event.event_id for event in batch]


def test_no_events_no_request(receiver: Receiver) -> None:
    assert sink(receiver.url).deliver([]) == []
    assert receiver.received == []


def test_a_redirect_is_not_followed_and_not_a_dead_letter(receiver: Receiver) -> None:
    receiver.script = [(301, {"Location": "/elsewhere"})]
    with pytest.raises(SinkError, match="HTTP 301"):
        sink(receiver.url).deliver(events(2))
    assert len(receiver.received) == 1
