"""What the services' results and notices look like on the wire (docs/protocol.md): the one
place that turns them into frames."""

from __future__ import annotations

from typing import Any, assert_never

from clubpengu.games import get_game
from clubpengu.models import Match, MatchStatus
from clubpengu.progression.stamps import StampCatalog
from clubpengu.services.buddies import BuddyList, StaffView
from clubpengu.services.challenges import ChallengeSent
from clubpengu.services.leaderboards import Board
from clubpengu.services.matches import PastMatch
from clubpengu.services.notices import (
    Buddy,
    BuddyAdded,
    BuddyRemoved,
    BuddyRequested,
    BuddyStatus,
    BuddyWithdrawn,
    ChallengeEnded,
    ChallengeReceived,
    CoinsChanged,
    MatchUpdate,
    MatchView,
    MigrationReviewed,
    Notice,
    StampEarned,
)
from clubpengu.services.world import Joined

Frame = dict[str, Any]


def notice(notice: Notice) -> Frame:
    """The push that tells a wallet `notice`."""
    if isinstance(notice, CoinsChanged):
        return coins(notice)
    if isinstance(notice, MatchUpdate):
        return match_view(notice.view, notice.match, notice.seat)
    if isinstance(notice, ChallengeReceived):
        return challenge(notice)
    if isinstance(notice, ChallengeEnded):
        return challenge_ended(notice)
    if isinstance(notice, MigrationReviewed):
        return migration_reviewed(notice)
    if isinstance(notice, StampEarned):
        return {"type": "stamp_earned", "stamp": dict(notice.stamp)}
    return _buddy_notice(notice)


def _buddy_notice(
    notice: BuddyRequested | BuddyWithdrawn | BuddyAdded | BuddyRemoved | BuddyStatus,
) -> Frame:
    if isinstance(notice, BuddyRequested):
        sender = notice.sender
        who = {"walletAddress": sender.wallet, "username": sender.username}
        return {"type": "buddy_requested", "from": who}
    if isinstance(notice, BuddyWithdrawn):
        return {"type": "buddy_request_withdrawn", "walletAddress": notice.wallet}
    if isinstance(notice, BuddyAdded):
        return {"type": "buddy_added", "buddy": buddy(notice.buddy)}
    if isinstance(notice, BuddyRemoved):
        return {"type": "buddy_removed", "walletAddress": notice.wallet}
    if isinstance(notice, BuddyStatus):
        frame: Frame = {"type": notice.event, "walletAddress": notice.wallet}
        if notice.room is not None:
            frame["room"] = notice.room
        return frame
    assert_never(notice)


def buddy(found: Buddy) -> Frame:
    """A `<buddy>` of docs/protocol.md: the room only while online."""
    frame: Frame = {"walletAddress": found.wallet, "username": found.username}
    frame["online"] = found.online
    if found.online and found.room is not None:
        frame["room"] = found.room
    return frame


def _named(found: Buddy) -> Frame:
    return {"walletAddress": found.wallet, "username": found.username}


def buddies(listing: BuddyList) -> Frame:
    """The `buddies` reply."""
    return {
        "type": "buddies",
        "buddies": [buddy(b) for b in listing.buddies],
        "requests": [_named(b) for b in listing.requests],
        "sent": [_named(b) for b in listing.sent],
        "ignored": [_named(b) for b in listing.ignored],
    }


def staff_buddies(wallet: str, view: StaffView) -> Frame:
    """GET /admin/users/{wallet}/buddies."""
    return {
        "walletAddress": wallet,
        "buddies": [buddy(b) for b in view.buddies],
        "requestsReceived": [
            _named(b) | {"hidden": hidden} for b, hidden in view.requests_received
        ],
        "requestsSent": [_named(b) for b in view.requests_sent],
        "ignored": [_named(b) for b in view.ignored],
        "ignoredBy": view.ignored_by,
    }


def coins(change: CoinsChanged) -> Frame:
    """The `coins` frame of docs/protocol.md §4."""
    return {
        "type": "coins",
        "coins": change.balance,
        "delta": change.delta,
        "reason": change.reason,
    }


def migration_reviewed(reviewed: MigrationReviewed) -> Frame:
    """The push that tells a player staff decided their held save (docs/protocol.md §9)."""
    return {
        "type": "migration_reviewed",
        "claimId": reviewed.claim_id,
        "status": reviewed.status,
        "coins": reviewed.coins,
        "reason": reviewed.reason,
    }


def joined(result: Joined) -> Frame:
    """The `joined` frame of docs/protocol.md §2."""
    user: dict[str, Any] | None = None
    if result.user is not None:
        user = result.user.public_profile()
    elif result.guest is not None:
        user = {"walletAddress": None, "username": result.guest, "guest": True}
    return {
        "type": "joined",
        "playerId": result.player_id,
        "room": result.room,
        "user": user,
        "players": result.players,
    }


# --- challenges and matches (docs/protocol.md §11) -------------------------------------


def challenge(received: ChallengeReceived) -> Frame:
    sender = received.challenger
    return {
        "type": "challenge", "challengeId": received.challenge_id, "game": received.game,
        "wager": received.wager, "expiresAt": received.expires_at.isoformat(),
        "from": {"playerId": sender.player_id, "walletAddress": sender.wallet,
                 "username": sender.username},
    }  # fmt: skip


def challenge_sent(sent: ChallengeSent) -> Frame:
    return {
        "type": "challenge_sent", "challengeId": sent.challenge_id,
        "targetPlayerId": sent.target_player_id, "game": sent.game, "wager": sent.wager,
        "expiresAt": sent.expires_at.isoformat(),
    }  # fmt: skip


def challenge_ended(ended: ChallengeEnded) -> Frame:
    return {"type": "challenge_ended", "challengeId": ended.challenge_id, "reason": ended.reason}


def players_of(match: Match) -> list[dict[str, Any]]:
    return [
        {"seat": i, "walletAddress": p.wallet_address, "username": p.username}
        for i, p in enumerate(match.players)
    ]


def match_view(kind: MatchView, match: Match, seat: int) -> Frame:
    """`match_start` / `match_state` / `match_end` for one seat: its own view only."""
    game = get_game(match.game)
    deadline = match.turn_deadline.isoformat() if match.turn_deadline else None
    frame: Frame = {
        "type": kind,
        "matchId": str(match.id),
        "game": match.game,
        "wager": match.wager,
        "seat": seat,
        "players": players_of(match),
        "status": str(match.status),
        "view": game.view(match.state, seat),
        "toMove": list(game.seats_to_move(match.state)),
        "turnDeadline": deadline,
        "seq": match.seq,
    } | opponent_of(match)
    if match.status != MatchStatus.ACTIVE:
        winner = match.winner_wallet
        frame["winner"] = winner
        frame["reason"] = match.result
        mine = match.wallets[seat]
        frame["result"] = "draw" if winner is None else ("win" if winner == mine else "loss")
        frame["refunded"] = match.stakes_refunded
        frame["reward"] = match.rewards[seat] if match.rewards else 0
        frame["rewardReason"] = match.reward_reasons[seat] if match.reward_reasons else None
    return frame


def opponent_of(match: Match) -> Frame:
    """`opponent`: "player", or "computer" with its `level`."""
    if match.computer_level is None:
        return {"opponent": str(match.opponent)}
    return {"opponent": str(match.opponent), "level": match.computer_level}


def past_match(past: PastMatch) -> Frame:
    """One entry of `match_history`."""
    return {
        "matchId": past.match_id, "game": past.game, "wager": past.wager,
        "opponent": {"walletAddress": past.opponent_wallet,
                     "username": past.opponent_username}
                    | ({"level": past.computer_level} if past.computer_level else {}),
        "result": past.result, "reward": past.reward, "reason": past.reason,
        "createdAt": past.created_at.isoformat(),
        "endedAt": past.ended_at.isoformat() if past.ended_at else None,
    }  # fmt: skip


def room_match(match: Match) -> Frame:
    """`room_match`: who is playing whom in a room (and, once over, how it ended)."""
    frame: Frame = {
        "type": "room_match",
        "matchId": str(match.id),
        "game": match.game,
        "wager": match.wager,
        "status": str(match.status),
        "players": players_of(match),
    } | opponent_of(match)
    if match.status != MatchStatus.ACTIVE:
        frame |= {"winner": match.winner_wallet, "reason": match.result}
    return frame


def spectate(kind: str, match: Match) -> Frame:
    """`match_watching` / `match_spectate`: the match as a spectator may see it."""
    game = get_game(match.game)
    deadline = match.turn_deadline.isoformat() if match.turn_deadline else None
    return room_match(match) | {
        "type": kind,
        "view": game.spectator_view(match.state),
        "toMove": list(game.seats_to_move(match.state)),
        "turnDeadline": deadline,
        "seq": match.seq,
    }


def leaderboard(board: Board) -> Frame:
    """The `leaderboard` reply of docs/protocol.md (also the HTTP route's body)."""
    return {
        "type": "leaderboard",
        "game": board.game,
        "period": board.period,
        "week": None if board.key == "all" else board.key,
        "top": [standing.public() for standing in board.top],
        "me": board.me.public() if board.me is not None else None,
    }


def stamps(catalog: StampCatalog) -> Frame:
    """The `stamps` reply of docs/protocol.md: the catalogue in its file's order (also the
    body of `GET /stamps`)."""
    return {"type": "stamps", "stamps": catalog.public()}
