"""EventBus backends: `memory.MemoryBus` (one node) and `redis.RedisBus` (REDIS_URL)."""
