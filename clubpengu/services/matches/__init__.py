"""Wagered matches: escrow, server-side moves with an ordered event log, turn timers,
forfeits and settlement exactly once.

- Start (`MatchService.create`): the challenge's pending→accepted update, both
  `match_escrow` debits (keys `match:<id>:escrow:<wallet>`) and the Match insert are one
  transaction.
- Move (`MatchService.move`, moves.py): the rules (clubpengu/games) check it against the
  match as this node holds it (MatchCache, else a read), and ONE single-document atomic
  update writes it, conditional on the version it was computed from. A stale write
  matches nothing: the match is read again and the move re-applied (so of two concurrent
  moves of one seat the second becomes `not your turn`), never overwritten; a move the
  held copy refuses is checked against a fresh read before it is refused. The deciding
  move is written together with its settlement in one transaction (it moves coins), so
  no finished match waits for a payout.
- Settlement (settlement.py): one transaction with a Match update conditional on
  `status: active, settledAt: null`, the payout or both refunds, and the players'
  results. A second attempt matches nothing; the idempotency keys make a double credit
  impossible even then.
- Players are told through the `Notify` the service was given (their seat's view of the
  match, their coins); listeners (`listeners`) hear `start`, `resume`, `move` and `end`
  of every match this node runs (the room is told who is playing whom, and spectators
  the moves).
- Timers (timers.py) live in this process: a restarted node re-arms them when a player
  comes back (`resume`), and the sweeper (sweeper.py) settles matches whose deadline
  passed more than `abandon_after` ago on any node.
- presence.py: what a player entering or leaving the world means for their matches.
"""

from clubpengu.services.matches.history import PastMatch
from clubpengu.services.matches.service import Listener, MatchService
from clubpengu.services.matches.settlement import Settlement
from clubpengu.services.matches.timers import Timing

__all__ = ["Listener", "MatchService", "PastMatch", "Settlement", "Timing"]
