"""ImportRun: one run of `clubpengu import-saves` that wrote, by its run id."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pydantic import Field

from clubpengu.models.base import CAMEL, utcnow


class ImportRun(Document):
    """A run's id (`_id`, printed at the end of the import), its file, who ran it, when,
    what it wrote, and its rollbacks. Each save it imported carries the id in its audit
    entry (`details.runId`) and its migration ledger entry (`proof.runId`), which is how
    `import-saves --rollback RUN` finds them."""

    model_config = CAMEL

    id: str  # type: ignore[assignment]  # the run id itself
    file: str
    actor: str
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    imported: int = 0
    coins_imported: int = 0
    # Set before an applied rollback's first removal: a rolled-back wallet's next
    # migration takes a new ledger key (services/migration_keys.py).
    rollback_begun_at: datetime | None = None
    rolled_back_at: datetime | None = None
    rolled_back: int = 0  # players removed by rollbacks of this run, so far

    class Settings:
        name = "import_runs"
