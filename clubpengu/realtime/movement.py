"""Server-side movement validation: clients say where they are, the server decides.

The rule (docs/protocol.md, "Movement"):
1. The target is clamped into the room's bounds.
2. Each player has a distance budget that refills at the room's speed (units per second)
   and holds at most `speed * MOVE_SLACK_SECONDS`. A move may cover at most the budget;
   a longer jump is cut short along the straight line toward the target. So over any
   stretch of time a player covers at most `speed * elapsed + speed * slack`: the slack
   absorbs network jitter (two moves arriving close together), never a teleport.
Time is the server's monotonic clock at receipt; client timestamps are not trusted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from clubpengu.realtime.rooms import RoomSpec

MOVE_SLACK_SECONDS = 0.25  # two and a half ticks at 10 Hz


@dataclass(slots=True)
class MoveBudget:
    budget: float
    updated: float

    @classmethod
    def full(cls, spec: RoomSpec, now: float) -> MoveBudget:
        return cls(spec.speed * MOVE_SLACK_SECONDS, now)


def clamp_move(
    spec: RoomSpec,
    budget: MoveBudget,
    origin: tuple[float, float],
    target: tuple[float, float],
    now: float,
) -> tuple[float, float]:
    """Where a player at `origin` asking for `target` ends up; spends `budget`."""
    x, y = spec.clamp(*target)
    cap = spec.speed * MOVE_SLACK_SECONDS
    available = min(cap, budget.budget + max(0.0, now - budget.updated) * spec.speed)
    budget.updated = now
    ox, oy = origin
    distance = math.hypot(x - ox, y - oy)
    if distance <= available:
        budget.budget = available - distance
        return x, y
    budget.budget = 0.0
    share = available / distance  # distance > available >= 0
    return spec.clamp(round(ox + (x - ox) * share, 2), round(oy + (y - oy) * share, 2))
