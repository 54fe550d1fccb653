"""The event bus between the node's parts (and, with Redis, between nodes)."""

from clubpengu.realtime.bus.base import EventBus
from clubpengu.realtime.bus.memory import MemoryBus

__all__ = ["EventBus", "MemoryBus"]
