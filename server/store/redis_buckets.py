"""Token buckets in Redis, so every node of a cluster spends from the same one.

One Lua script per take: read the bucket, refill it by the time elapsed on Redis's
own clock (``TIME``: nodes' clocks never enter), take a token or count a refusal,
write it back and let the key expire once the bucket would be full again (a missing
key is a full bucket). A script runs atomically, so two nodes never both take the
last token.

Note: a take whose reply is lost and which redis-py retries spends twice; the limit
then errs on the strict side.
"""

from __future__ import annotations

import hashlib
from typing import Final, cast

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

TAKE: Final = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp', 'refused')
local tokens = tonumber(state[1]) or burst
local stamp = tonumber(state[2]) or now
local refused = tonumber(state[3]) or 0
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate / 1000)
if tokens >= 1 then
  tokens = tokens - 1
  refused = 0
else
  refused = refused + 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', now, 'refused', refused)
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return refused
"""
TAKE_SHA: Final = hashlib.sha1(TAKE.encode()).hexdigest()


async def take(client: aioredis.Redis, key: str, rate: float, burst: int) -> int:
    """0 when a token was taken, else the refusals in a row (see ``Store.take_token``)."""
    args = (repr(float(rate)), str(int(burst)))
    try:
        result = await client.evalsha(TAKE_SHA, 1, key, *args)
    except NoScriptError:  # first use since Redis started: send the script (it is cached)
        result = await client.eval(TAKE, 1, key, *args)
    return int(cast(int, result))
