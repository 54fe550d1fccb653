"""Beanie documents, one module per collection. No business rules here."""

from beanie import Document

from clubpengu.models.auth_challenge import AuthChallenge
from clubpengu.models.auth_session import AuthSession
from clubpengu.models.buddy_request import BuddyRequest
from clubpengu.models.challenge import Challenge, ChallengeStatus
from clubpengu.models.chat_line import ChatLine
from clubpengu.models.coin_notice import CoinNotice
from clubpengu.models.connection_log import ConnectionLog
from clubpengu.models.erasure_job import ErasureJob
from clubpengu.models.event import AuditLog, Event
from clubpengu.models.friendship import Friendship
from clubpengu.models.ignore import Ignore
from clubpengu.models.import_run import ImportRun
from clubpengu.models.leaderboard import LeaderboardCounts, LeaderboardEntry
from clubpengu.models.match import (
    COMPUTER_WALLET,
    Match,
    MatchLogEntry,
    MatchPlayer,
    MatchStatus,
    Opponent,
)
from clubpengu.models.migration_claim import ClaimStatus, MigrationClaim
from clubpengu.models.moderation import Moderation, ModerationAction, Sanction
from clubpengu.models.player_report import PlayerReport, ReportResolution
from clubpengu.models.promo import PromoCode, PromoRedemption
from clubpengu.models.puffle import Puffle
from clubpengu.models.reward_day import RewardDay
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
    ErasureJob,
    CoinNotice,
    ImportRun,
    Friendship,
    BuddyRequest,
    Ignore,
    RewardDay,
    LeaderboardEntry,
    LeaderboardCounts,
)

__all__ = [
    "ALL_MODELS",
    "COMPUTER_WALLET",
    "AuditLog",
    "AuthChallenge",
    "AuthSession",
    "BuddyRequest",
    "Challenge",
    "ChallengeStatus",
    "ChatLine",
    "ClaimStatus",
    "CoinNotice",
    "ConnectionLog",
    "ErasureJob",
    "Event",
    "Friendship",
    "Ignore",
    "ImportRun",
    "LeaderboardCounts",
    "LeaderboardEntry",
    "Match",
    "MatchLogEntry",
    "MatchPlayer",
    "MatchStatus",
    "MigrationClaim",
    "Moderation",
    "ModerationAction",
    "Opponent",
    "PlayerReport",
    "PromoCode",
    "PromoRedemption",
    "Puffle",
    "ReportResolution",
    "RewardDay",
    "Sanction",
    "Transaction",
    "User",
    "WagerDay",
]
