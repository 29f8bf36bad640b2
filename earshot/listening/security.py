"""Request limits and headers: token-bucket rate limits, a body-size cap, admin token checks.

- `RateLimiter`: one token bucket per key (a participant token, a client address); a request
  spends one token; tokens refill at ``rate`` per second up to ``burst``. A refused request
  gets 429 with ``Retry-After``.
- `BodyLimitMiddleware`: a request body over ``max_bytes`` (declared or streamed) gets 413
  before the application sees any of it.
- `SecurityHeadersMiddleware`: a strict Content-Security-Policy (our own scripts and styles
  only, no inline code), no sniffing, no framing, no referrer (admin URLs carry a token).
- `tokens_equal`: constant-time comparison of secrets.
"""

from __future__ import annotations

import hmac
import json
import math
import threading
import time

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")


def tokens_equal(expected: str, supplied: str | None) -> bool:
    """Compare two secrets in time independent of where they differ."""
    if supplied is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), supplied.encode("utf-8", "surrogatepass"))


class RateLimiter:
    """Token buckets keyed by string: ``allow(key)`` -> ``(allowed, seconds to wait)``.

    Args:
        rate: tokens added per second.
        burst: bucket size (requests allowed at once after a pause).
        max_keys: buckets kept; the fullest (idlest) are forgotten beyond this.
    """

    def __init__(self, rate: float, burst: float, *, max_keys: int = 100_000, clock=time.monotonic):
        self.rate, self.burst, self.max_keys, self.clock = float(rate), float(burst), max_keys, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> tuple[bool, float]:
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                allowed, wait = True, 0.0
            else:
                self._buckets[key] = (tokens, now)
                allowed, wait = False, (1 - tokens) / self.rate
            if len(self._buckets) > self.max_keys:
                self._forget(now)
        return allowed, wait

    def _forget(self, now: float) -> None:
        full_after = self.burst / self.rate
        stale = [k for k, (_, last) in self._buckets.items() if now - last > full_after]
        for k in stale or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[k]


async def _send_json(send, status: int, detail: str, headers: list | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())] + (headers or [])})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Reject request bodies larger than ``max_bytes`` with 413 (pure ASGI, buffers at most the cap)."""

    def __init__(self, app, max_bytes: int = 16384):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_big = f"request body over {self.max_bytes} bytes"
        if declared is not None:
            try:
                if int(declared) > self.max_bytes:
                    return await _send_json(send, 413, too_big)
            except ValueError:
                return await _send_json(send, 400, "malformed Content-Length")
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return await _send_json(send, 413, too_big)
            if not message.get("more_body"):
                break

        async def replay():
            return messages.pop(0) if messages else await receive()

        return await self.app(scope, replay, send)


class SecurityHeadersMiddleware:
    """Add CSP, nosniff, no-framing and no-referrer headers to every response."""

    HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
               (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"),
               (b"cross-origin-opener-policy", b"same-origin")]

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers") or []) + self.HEADERS
            await send(message)

        return await self.app(scope, receive, with_headers)


def retry_after(seconds: float) -> str:
    """A Retry-After header value (whole seconds, at least 1)."""
    return str(max(1, math.ceil(seconds)))
