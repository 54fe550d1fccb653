"""The event bus between the node's parts (and, with Redis, between nodes), laid out as
encode/broadcaster's: the `EventBus` protocol in `base.py`, one backend per module in
`backends/` (`memory.py` for one node, `redis.py` when REDIS_URL is set, imported only
then). The channels it carries are listed in `realtime/names.py`."""
