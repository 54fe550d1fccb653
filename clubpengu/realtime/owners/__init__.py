"""Who owns each wallet's live session. The `SessionOwners` protocol and the `Owner` it
stores in `base.py`; `local.LocalOwners` is a dict (one node), `redis.RedisOwners` a key
per wallet in Redis (REDIS_URL; its Lua scripts are the `lua/*.lua` files beside it)."""
