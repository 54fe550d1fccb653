"""The analysts' report: aggregation pipelines only, run as the read-only analyst user.

Each section is one pipeline over one collection, starting with a `$match` on an indexed
date field so the database walks an index range rather than the collection (the tests
check the plans with `explain`). The kind filter of the events sections and the type
filter of the purchases are a second `$match`: SecantusDB's planner falls back to a
collection scan for a field without an index combined with a range in one `$match`,
while MongoDB merges the two stages anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

NEGATED = {"$multiply": ["$amount", -1]}
Report = dict[str, list[dict[str, Any]]]  # section name -> its rows
# The range a report covers when none is given, for `clubpengu report` and the console
# (GET /admin/report with no `from`/`to`) alike: the last 30 UTC days, today included.
DEFAULT_REPORT_DAYS = 30
DAY = timedelta(days=1)


def default_range(now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end) of the default report: DEFAULT_REPORT_DAYS UTC days ending with today."""
    moment = now or datetime.now(UTC)
    end = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + DAY
    return end - DEFAULT_REPORT_DAYS * DAY, end


def days(start: datetime, end: datetime) -> list[str]:
    """Every UTC day of [start, end), as the report names them (2026-11-25)."""
    first = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    count = max(0, -(-(end - first) // DAY))
    return [f"{first + n * DAY:%Y-%m-%d}" for n in range(count)]


@dataclass(frozen=True)
class Section:
    name: str
    collection: str
    columns: tuple[str, ...]
    pipeline: list[dict[str, Any]]

    @property
    def by_day(self) -> bool:
        """A row per day (the first column is `day`)."""
        return self.columns[0] == "day"


def sections(start: datetime, end: datetime) -> list[Section]:
    """The report's pipelines for [start, end)."""

    def day(field: str) -> dict[str, Any]:
        return {"$dateToString": {"format": "%Y-%m-%d", "date": f"${field}"}}

    def within(field: str) -> dict[str, Any]:
        return {field: {"$gte": start, "$lt": end}}

    return [
        Section("daily_active_players", "events", ("day", "players"), [
            {"$match": within("at")},
            {"$match": {"kind": {"$in": ["sign_in", "join"]}}},
            {"$group": {"_id": day("at"), "wallets": {"$addToSet": "$walletAddress"}}},
            {"$project": {"_id": 0, "day": "$_id", "players": {"$size": "$wallets"}}},
            {"$sort": {"day": 1}},
        ]),
        Section("new_players", "users", ("day", "players"), [
            {"$match": within("createdAt")},
            {"$group": {"_id": day("createdAt"), "players": {"$sum": 1}}},
            {"$project": {"_id": 0, "day": "$_id", "players": 1}},
            {"$sort": {"day": 1}},
        ]),
        Section("sign_ins", "events", ("day", "succeeded", "failed"), [
            {"$match": within("at")},
            {"$match": {"kind": {"$in": ["sign_in", "sign_in_failed"]}}},
            {"$group": {
                "_id": day("at"),
                "succeeded": {"$sum": {"$cond": [{"$eq": ["$kind", "sign_in"]}, 1, 0]}},
                "failed": {"$sum": {"$cond": [{"$eq": ["$kind", "sign_in_failed"]}, 1, 0]}},
            }},
            {"$project": {"_id": 0, "day": "$_id", "succeeded": 1, "failed": 1}},
            {"$sort": {"day": 1}},
        ]),
        Section("coin_flow", "transactions", ("type", "created", "destroyed", "entries"), [
            {"$match": within("createdAt")},
            {"$group": {
                "_id": "$type",
                "created": {"$sum": {"$cond": [{"$gt": ["$amount", 0]}, "$amount", 0]}},
                "destroyed": {"$sum": {"$cond": [{"$lt": ["$amount", 0]}, NEGATED, 0]}},
                "entries": {"$sum": 1},
            }},
            {"$project": {"_id": 0, "type": "$_id", "created": 1, "destroyed": 1, "entries": 1}},
            {"$sort": {"type": 1}},
        ]),
        Section("top_purchased_items", "transactions", ("item", "purchases"), [
            {"$match": within("createdAt")},
            {"$match": {"type": "purchase"}},
            {"$group": {"_id": "$proof.itemId", "purchases": {"$sum": 1}}},
            {"$project": {"_id": 0, "item": "$_id", "purchases": 1}},
            {"$sort": {"purchases": -1, "item": 1}},
            {"$limit": 10},
        ]),
        Section("matches", "matches", ("game", "started", "completed", "completion_rate"), [
            {"$match": within("createdAt")},
            {"$group": {
                "_id": "$game",
                "started": {"$sum": 1},
                "completed": {"$sum": {"$cond": [{"$eq": ["$status", "completed"]}, 1, 0]}},
            }},
            {"$project": {
                "_id": 0, "game": "$_id", "started": 1, "completed": 1,
                "completion_rate": {"$round": [{"$divide": ["$completed", "$started"]}, 3]},
            }},
            {"$sort": {"game": 1}},
        ]),
        Section("puffles_adopted", "puffles", ("color", "adopted"), [
            {"$match": within("adoptedAt")},
            {"$group": {"_id": "$color", "adopted": {"$sum": 1}}},
            {"$project": {"_id": 0, "color": "$_id", "adopted": 1}},
            {"$sort": {"color": 1}},
        ]),
    ]  # fmt: skip


async def run_report(db: AsyncDatabase[dict[str, Any]], start: datetime, end: datetime) -> Report:
    """Every section's rows for [start, end); a section by day has a row for each day of
    the range, with zeros where nothing happened (a chart of it then shows the gaps)."""
    result: Report = {}
    every_day = days(start, end)
    for section in sections(start, end):
        cursor = await db[section.collection].aggregate(section.pipeline)
        rows = await cursor.to_list()
        result[section.name] = _every_day(rows, section, every_day) if section.by_day else rows
    return result


def _every_day(
    rows: list[dict[str, Any]], section: Section, every_day: list[str]
) -> list[dict[str, Any]]:
    found = {row["day"]: row for row in rows}
    zero = {column: 0 for column in section.columns if column != "day"}
    return [found.get(day, {"day": day, **zero}) for day in every_day]


async def explain(db: AsyncDatabase[dict[str, Any]], section: Section) -> dict[str, Any]:
    plan: dict[str, Any] = await db.command(
        "explain",
        {"aggregate": section.collection, "pipeline": section.pipeline, "cursor": {}},
        verbosity="queryPlanner",
    )
    return plan
