"""Sign-in attempts slowed per account and per client address (decision 0055).

Each attempt is counted in Redis *before* its password is checked, in one script (atomic): an
attempt made while the previous one's delay runs is refused with 429 and ``Retry-After``, without
checking anything. The first ``free`` attempts have no delay; after them the delay doubles at each
attempt, from ``base`` seconds up to ``ceiling``. Nothing is ever locked: the account's owner
waits at most the current delay, whatever someone else tried. A successful sign-in forgets the
account's attempts and gives the address its attempt back; the count is forgotten ``memory``
seconds after the last attempt.

Keys hold a SHA-256 of the e-mail or the address, never the value itself. The time is the
service's clock (``services.core.clock``), so that tests can move it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import redis.asyncio as aioredis

from services.core.clock import now
from services.core.security.tokens import digest


@dataclass(frozen=True)
class Pace:
    free: int  # attempts without a delay
    base: float  # first delay, seconds; doubled at each attempt after
    ceiling: float  # longest delay, seconds
    memory: int  # attempts forgotten this long after the last one, seconds


ACCOUNT = Pace(free=5, base=1.0, ceiling=300.0, memory=24 * 3600)
# One address may try many accounts (an office behind one address): more free attempts, and the
# same growing delay after them — spraying many accounts from one place is slowed down.
ADDRESS = Pace(free=30, base=1.0, ceiling=300.0, memory=24 * 3600)

# KEYS[1]: the counter; ARGV: now, free, base, ceiling, memory. Returns {1, attempts} when the
# attempt may go on, {0, seconds to wait} when not (numbers as strings: Lua's are floats).
_RESERVE = """
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
local not_before = tonumber(redis.call('HGET', KEYS[1], 'not_before') or '0')
local moment = tonumber(ARGV[1])
if moment < not_before then
  return {0, tostring(not_before - moment)}
end
attempts = attempts + 1
local delay = 0
local free = tonumber(ARGV[2])
if attempts > free then
  delay = math.min(tonumber(ARGV[3]) * 2 ^ (attempts - free - 1), tonumber(ARGV[4]))
end
redis.call('HSET', KEYS[1], 'attempts', attempts, 'not_before', moment + delay)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return {1, tostring(attempts)}
"""

# Only on a counter that still exists: never a key without its expiry.
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('HGET', KEYS[1], 'attempts')) > 0 then
  redis.call('HINCRBY', KEYS[1], 'attempts', -1)
end
return 0
"""


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def account_key(email_digest: str) -> str:
    return f"maillon:sign-in:account:{email_digest}"


def address_key(address: str) -> str:
    return f"maillon:sign-in:address:{digest(address)}"


async def reserve(redis: aioredis.Redis, key: str, pace: Pace) -> None:
    """Count an attempt, or raise :class:`Throttled` while the last one's delay runs."""
    arguments = (now().timestamp(), pace.free, pace.base, pace.ceiling, pace.memory)
    allowed, value = await redis.eval(  # type: ignore[misc]
        _RESERVE, 1, key, *(str(argument) for argument in arguments)
    )
    if not int(allowed):
        raise Throttled(max(1, math.ceil(float(value))))


async def give_back(redis: aioredis.Redis, key: str) -> None:
    """An attempt that was not a failure: it no longer counts (the delay it set stays)."""
    await redis.eval(_GIVE_BACK, 1, key)  # type: ignore[misc]


async def forget(redis: aioredis.Redis, key: str) -> None:
    await redis.delete(key)
