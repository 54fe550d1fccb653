"""The recorder interface the server's parts call, and the label values it allows.

`Metrics` records nothing: it is what code built without metrics gets (tests, the CLI,
METRICS_ENABLED=false), one empty method call per event. `PrometheusMetrics`
(metrics/prometheus.py) overrides every method.
"""

from __future__ import annotations

from collections.abc import Callable

from pymongo import monitoring

UNKNOWN = "unknown"
OTHER = "other"

# Frame types of docs/protocol.md, both ways (a test checks that every handler's type is
# here). A frame of any other type (a client's typo, garbage) is counted as `unknown`, so
# a client cannot add label values.
MESSAGE_TYPES = frozenset((
    "admin_adjustment", "auth_challenge", "auth_failure", "auth_request", "auth_success",
    "auth_verify", "buddies", "buddy_accept", "buddy_added", "buddy_decline", "buddy_declined",
    "buddy_found", "buddy_moved", "buddy_offline", "buddy_online", "buddy_remove",
    "buddy_removed", "buddy_request", "buddy_request_sent", "buddy_request_withdrawn",
    "buddy_requested", "buddy_withdraw", "catalog",
    "challenge", "challenge_accept", "challenge_cancel",
    "challenge_decline", "challenge_ended", "challenge_sent", "change_room", "chat", "coins",
    "customization", "daily_bonus", "data_erasure_cancel", "data_erasure_cancelled",
    "data_erasure_pending", "data_erasure_request", "data_export", "data_export_chunk",
    "data_export_end", "data_export_started", "emote", "equip", "error", "find_buddy", "fly",
    "get_stats", "ignore", "ignored",
    "join", "joined", "kicked", "leaderboard", "logged_out", "logout", "match_end",
    "match_forfeit", "match_forfeited", "match_history", "match_move", "match_spectate",
    "match_start", "match_state", "match_unwatch", "match_unwatched", "match_watch",
    "match_watching", "migrate_data", "migrate_result", "move", "moves", "ok", "ping",
    "player_joined", "player_left", "player_look", "pong", "promo_result", "puffle_adopt",
    "puffle_adopted", "puffle_bathe", "puffle_cared", "puffle_feed", "puffle_play",
    "puffle_release", "puffle_released", "puffle_rest", "puffle_walk", "puffle_walking", "puffles",
    "purchase", "purchase_result", "redeem_promo", "report", "report_received", "room_match",
    "rooms", "set_customization", "stamp_earned", "stamps", "stats", "unignore", "unignored",
))  # fmt: skip

# The commands this server's driver sends; any other is `other`.
MONGODB_COMMANDS = frozenset((
    "find", "insert", "update", "delete", "findAndModify", "aggregate", "getMore", "count",
    "distinct", "commitTransaction", "abortTransaction", "createIndexes", "listIndexes",
    "dropIndexes", "listCollections", "killCursors", "endSessions", "ping", "hello", "isMaster",
    "buildInfo", "saslStart", "saslContinue", "createUser", "updateUser", "bulkWrite", "explain",
    "drop", "dropDatabase",
))  # fmt: skip

# A match settled by a player leaving it rather than by the game's rules.
FORFEIT_REASONS = frozenset({"forfeit", "disconnect", "timeout", "abandoned"})

Reading = Callable[[], float]


def frame_type(text: str) -> str:
    """The `type` of a serialised frame, for counting: the server writes `type` first
    (`{"type":"chat",…}`); a type outside MESSAGE_TYPES, or a frame that does not start
    so, is `unknown`."""
    if not text.startswith('{"type":"'):
        return UNKNOWN
    end = text.find('"', 9)
    kind = text[9:end] if 9 < end <= 41 else UNKNOWN
    return kind if kind in MESSAGE_TYPES else UNKNOWN


class Metrics:
    """The recorder interface, and the recorder that records nothing (METRICS_ENABLED
    false, the CLI, unit tests). Every method is cheap and never raises."""

    enabled = False

    # --- the realtime world ---------------------------------------------------------------

    def message_in(self, kind: str) -> None:
        """A frame read from a client; `kind` its type if the router knows it."""

    def message_out(self, kind: str, count: int = 1) -> None:
        """`count` frames of type `kind` queued for clients (a room's fan-out is one call)."""

    def message_out_text(self, text: str, count: int = 1) -> None:
        """`message_out` for a serialised frame (its type read from the text)."""

    def tick_step(self, seconds: float) -> None:
        """One step of the phased tick took `seconds`."""

    def tick_batch(self, movers: int) -> None:
        """A room's `moves` batch named `movers` players."""

    def outgoing_dropped(self) -> None:
        """A `moves` batch still queued for a slow client was superseded."""

    def slow_client_closed(self) -> None:
        """A connection was closed with 1008 for not keeping up."""

    def rate_limited(self) -> None:
        """A message was refused for a per-connection rate limit."""

    def request_abandoned(self) -> None:
        """A request was dropped unhandled: its client had closed the socket."""

    def watch_realtime(self, connections: Reading, rooms: Reading, overruns: Reading) -> None:
        """Read the connection and room counts and the tick's overruns at scrape time."""

    # --- sign-in, economy, matches ------------------------------------------------------

    def sign_in(self, result: str) -> None:
        """A sign-in attempt ended: `ok` or its failure code."""

    def coins(self, type_: str, amount: int) -> None:
        """A committed ledger entry of `type_` moved `amount` coins (either way)."""

    def economy_error(self, code: str) -> None:
        """An economy operation was refused with error `code`."""

    def match_started(self, game: str) -> None:
        """A match of `game` started."""

    def match_ended(self, game: str, reason: str) -> None:
        """A match of `game` was settled for `reason` (a forfeit reason counts twice:
        completed and forfeited)."""

    def ledger_verified(self, mismatches: int) -> None:
        """A ledger verification ran and found `mismatches`."""

    # --- stats batching ----------------------------------------------------------------

    def stats_flushed(self, seconds: float, ok: bool) -> None:
        """A stats flush took `seconds`; `ok` false when some counters were put back."""

    def watch_stats(self, pending: Reading) -> None:
        """Read the batcher's pending counters at scrape time."""

    # --- dependencies --------------------------------------------------------------------

    def health(self, healthy: bool, database_up: bool) -> None:
        """The node's health as /health (or the periodic check) computed it."""

    def redis_published(self, seconds: float) -> None:
        """One pipeline of queued Redis commands took `seconds`."""

    def watch_redis(self, up: Reading, reconnects: Reading) -> None:
        """Read the Redis bus's state and reconnect count at scrape time."""

    def command_listener(self) -> monitoring.CommandListener | None:
        """The PyMongo listener to register on the client (None: no listener)."""
        return None

    # --- exposition ----------------------------------------------------------------------

    async def exposition(self) -> bytes:
        """The Prometheus text exposition (empty: nothing is recorded)."""
        return b""
