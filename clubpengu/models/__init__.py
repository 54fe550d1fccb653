"""Beanie documents, one module per collection. No business rules here."""

from beanie import Document

from clubpengu.models.auth_challenge import AuthChallenge
from clubpengu.models.auth_session import AuthSession
from clubpengu.models.challenge import Challenge, ChallengeStatus
from clubpengu.models.chat_line import ChatLine
from clubpengu.models.connection_log import ConnectionLog
from clubpengu.models.event import AuditLog, Event
from clubpengu.models.leaderboard import LeaderboardCounts, LeaderboardEntry
from clubpengu.models.match import Match, MatchLogEntry, MatchPlayer, MatchStatus
from clubpengu.models.migration_claim import ClaimStatus, MigrationClaim
from clubpengu.models.moderation import Moderation, ModerationAction, Sanction
from clubpengu.models.player_report import PlayerReport, ReportResolution
from clubpengu.models.promo import PromoCode, PromoRedemption
from clubpengu.models.puffle import Puffle
from clubpengu.models.transaction import Transaction
from clubpengu.models.user import User
from clubpengu.models.wager_day import WagerDay

ALL_MODELS: tuple[type[Document], ...] = (
    User,
    AuthSession,
    AuthChallenge,
    Puffle,
    Challenge,
    Match,
    Transaction,
    Event,
    AuditLog,
    PromoCode,
    PromoRedemption,
    ConnectionLog,
    ModerationAction,
    ChatLine,
    PlayerReport,
    MigrationClaim,
    WagerDay,
    LeaderboardEntry,
    LeaderboardCounts,
)

__all__ = [
    "ALL_MODELS",
    "AuditLog",
    "AuthChallenge",
    "AuthSession",
    "Challenge",
    "ChallengeStatus",
    "ChatLine",
    "ClaimStatus",
    "ConnectionLog",
    "Event",
    "LeaderboardCounts",
    "LeaderboardEntry",
    "Match",
    "MatchLogEntry",
    "MatchPlayer",
    "MatchStatus",
    "MigrationClaim",
    "Moderation",
    "ModerationAction",
    "PlayerReport",
    "PromoCode",
    "PromoRedemption",
    "Puffle",
    "ReportResolution",
    "Sanction",
    "Transaction",
    "User",
    "WagerDay",
]
