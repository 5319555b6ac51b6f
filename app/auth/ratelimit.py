"""Fixed-window rate limits per API key, or per client address for anonymous reads.

In memory by default (one process); shared through Redis when ENTENTE_REDIS_URL is set,
so that several API processes enforce one limit.
"""

import time
from dataclasses import dataclass

from redis.asyncio import Redis


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the window ends

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f"{self.limit};w=60",
        }


WINDOW = 60


class RateLimiter:
    def __init__(self, redis_url: str | None) -> None:
        self.redis: Redis | None = Redis.from_url(redis_url) if redis_url else None
        self.counts: dict[str, int] = {}
        self.window = 0

    async def hit(self, identity: str, limit: int) -> Verdict:
        now = time.time()
        window = int(now // WINDOW)
        reset = max(1, int((window + 1) * WINDOW - now))
        bucket = f"entente:rate:{identity}:{window}"
        if self.redis is not None:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(bucket)
                pipe.expire(bucket, WINDOW + 5)
                count, _ = await pipe.execute()
        else:
            if window != self.window:  # a new window: forget the last one's counts
                self.counts, self.window = {}, window
            count = self.counts[bucket] = self.counts.get(bucket, 0) + 1
        return Verdict(count <= limit, limit, max(0, limit - count), reset)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
