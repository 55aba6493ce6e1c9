"""Client helpers for load and soak tests: servers on loopback, retries, figures.

A `LoadClient` sends one request at a time to a list of servers on 127.0.0.1. A connection
error (the server was killed, is restarting, dropped the connection) is retried on the next
server with the very same request — same body, same external_ref / reference, same
Idempotency-Key — so a retry can never duplicate what the lost attempt may have done. Each
logical request becomes one `Outcome`; `Figures` sums them up: requests, errors by kind,
latency percentiles.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

MAX_ATTEMPTS = 40  # connection errors retried per request (servers restart within seconds)
RETRY_PAUSE = 0.1  # seconds between attempts, times the attempt number, capped below
MAX_PAUSE = 1.0
TIMEOUT = 60.0


@dataclass(frozen=True)
class Outcome:
    kind: str  # what the client meant to do: "order", "cancel", "receipt", "ship"
    status: int | None  # the final HTTP status; None when every attempt failed to connect
    code: str | None  # our error code ("insufficient_stock", ...) on a 4xx or 5xx
    seconds: float  # from the first attempt to the final answer, retries included
    retries: int  # connection errors retried
    body: dict | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def label(self) -> str:
        if self.status is None:
            return "gave up (connection)"
        if self.ok:
            return "2xx"
        return f"{self.status} {self.code or 'unknown'}"


@dataclass
class LoadClient:
    """One client thread's HTTP session over several servers."""

    servers: Sequence[str]
    start_at: int = 0
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=TIMEOUT))

    def send(
        self, kind: str, method: str, path: str, body: dict | None = None, key: str | None = None
    ) -> Outcome:
        """The same request until a server answers (any status) or MAX_ATTEMPTS fail."""
        headers = {"Idempotency-Key": key} if key else {}
        started, retries = time.monotonic(), 0
        for attempt in range(MAX_ATTEMPTS):
            server = self.servers[(self.start_at + attempt) % len(self.servers)]
            try:
                response = self.http.request(method, server + path, json=body, headers=headers)
            except httpx.TransportError:
                retries += 1
                time.sleep(min(MAX_PAUSE, RETRY_PAUSE * (attempt + 1)))
                continue
            self.start_at += 1  # spread the next request over the servers
            return _outcome(kind, response, time.monotonic() - started, retries)
        return Outcome(kind, None, None, time.monotonic() - started, retries)

    def close(self) -> None:
        self.http.close()


def _outcome(kind: str, response: httpx.Response, seconds: float, retries: int) -> Outcome:
    try:
        body = response.json()
    except ValueError:
        body = None
    code = None
    if isinstance(body, dict) and response.status_code >= 400:
        code = body.get("code")
        details = body.get("details") or {}
        if details.get("field") == "Idempotency-Key":  # the key, not the command, was refused
            code = f"{code} (Idempotency-Key: {details.get('reason')})"
    return Outcome(
        kind, response.status_code, code, seconds, retries, body if isinstance(body, dict) else None
    )


class Recorder:
    """Outcomes from many threads, and a shared count of finished requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.outcomes: list[Outcome] = []

    def add(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)

    @property
    def done(self) -> int:
        with self._lock:
            return len(self.outcomes)

    def figures(self) -> Figures:
        with self._lock:
            return Figures.of(list(self.outcomes))


@dataclass(frozen=True)
class Figures:
    requests: int
    by_label: dict[str, int]
    by_kind: dict[str, int]
    retried_requests: int
    connection_retries: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, outcomes: list[Outcome]) -> Figures:
        latencies = sorted(o.seconds * 1000 for o in outcomes) or [0.0]
        return cls(
            requests=len(outcomes),
            by_label=dict(Counter(o.label for o in outcomes).most_common()),
            by_kind=dict(Counter(o.kind for o in outcomes).most_common()),
            retried_requests=sum(1 for o in outcomes if o.retries),
            connection_retries=sum(o.retries for o in outcomes),
            p50_ms=percentile(latencies, 50),
            p99_ms=percentile(latencies, 99),
            max_ms=latencies[-1],
        )

    def lines(self, seconds: float) -> list[str]:
        rate = self.requests / seconds if seconds else 0.0
        return [
            f"requests: {self.requests} in {seconds:.1f} s ({rate:.0f}/s); "
            + ", ".join(f"{kind} {n}" for kind, n in self.by_kind.items()),
            "outcomes: " + ", ".join(f"{label}: {n}" for label, n in self.by_label.items()),
            f"connection errors retried: {self.connection_retries} "
            f"(in {self.retried_requests} requests)",
            f"latency: p50 {self.p50_ms:.0f} ms, p99 {self.p99_ms:.0f} ms, "
            f"max {self.max_ms:.0f} ms (retries included)",
        ]


def percentile(ordered: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil
    return ordered[int(rank) - 1]


def skewed_choice(
    rng: random.Random, hot: Sequence[str], cold: Sequence[str], hot_share: float = 0.6
) -> str:
    """A few hot items get `hot_share` of the picks; the rest spread over the cold ones."""
    return rng.choice(hot) if rng.random() < hot_share else rng.choice(cold)
