"""The room directory: which instances of each room are open and who holds their seats.
The `RoomDirectory` protocol in `base.py`; `local.LocalDirectory` counts seats in this
process (one node), `redis.RedisDirectory` in Redis for every node (REDIS_URL; its Lua
scripts are the `lua/*.lua` files beside it)."""
