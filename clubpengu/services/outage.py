"""Which driver errors mean the database is out of reach (or too slow), not that a request
or the code is wrong. The transport answers them `unavailable` (transport/outage.py); a
service's own background work (a match's timers) tries again later."""

from __future__ import annotations

from pymongo.errors import ConnectionFailure, ExecutionTimeout, PyMongoError

# ConnectionFailure covers server selection timing out, a lost or refused connection, a
# network timeout, a primary that stepped down or is shutting down (NotPrimaryError),
# and a full connection pool; ExecutionTimeout a server-side time limit.
OUTAGE_ERRORS: tuple[type[PyMongoError], ...] = (ConnectionFailure, ExecutionTimeout)


def is_outage(error: BaseException) -> bool:
    return isinstance(error, OUTAGE_ERRORS) or (isinstance(error, PyMongoError) and error.timeout)
