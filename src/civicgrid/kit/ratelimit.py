"""Rate limits for anonymous reports: a sliding window per key (client address, phone).

In process by default; with CIVICGRID_REDIS_URL the windows live in Redis so that several server
processes share them.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from civicgrid.config import Settings
from civicgrid.kit.errors import TooManyRequests
from civicgrid.kit.text import BadPhone, normalise_phone


class MemoryLimiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def hit(self, key: str, limit: int, window: float) -> bool:
        """Count one hit; False when the key already has `limit` hits in the window."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            return True

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


class RedisLimiter:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)

    def hit(self, key: str, limit: int, window: float) -> bool:
        now = time.time()
        name = f"civicgrid:rl:{key}"
        pipe = self._redis.pipeline()
        pipe.zremrangebyscore(name, 0, now - window)
        pipe.zcard(name)
        _, count = pipe.execute()
        if count >= limit:
            return False
        pipe = self._redis.pipeline()
        pipe.zadd(name, {f"{now}:{id(pipe)}": now})
        pipe.expire(name, int(window) + 1)
        pipe.execute()
        return True

    def reset(self) -> None:
        for name in self._redis.scan_iter("civicgrid:rl:*"):
            self._redis.delete(name)


_memory = MemoryLimiter()


def limiter(settings: Settings):
    return RedisLimiter(settings.redis_url) if settings.redis_url else _memory


def check_report(settings: Settings, *, address: str | None, phone: str | None) -> None:
    """Refuse an anonymous report over the per-address or per-phone limit (429). A phone counts
    as the number it is (`139-1111-0000` is `13911110000`); one that is not a number is not
    counted here, and refused by the report's own checks."""
    lim = limiter(settings)
    try:
        phone = normalise_phone(phone or "")
    except BadPhone:
        phone = None
    window = 3600.0
    if address and not lim.hit(f"addr:{address}", settings.reports_per_hour_per_address, window):
        raise TooManyRequests(
            "提交过于频繁, 请稍后再试", "too many reports from this address; try again later"
        )
    if phone and not lim.hit(f"phone:{phone}", settings.reports_per_hour_per_phone, window):
        raise TooManyRequests(
            "该手机号提交过于频繁, 请稍后再试",
            "too many reports from this phone number; try again later",
        )
