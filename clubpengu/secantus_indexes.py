"""SecantusDB 0.7.0b3's index upkeep on update, patched (see clubpengu/secantus_process.py's
docstring for why, and docs/secantusdb-index-writes.md for the figures).

Three changes, all to `secantus.storage.Storage`:

- `rewrite_index_entries`: an updated document's index entries, written as the difference
  between its old and new keys, where the shipped update paths delete every entry of the
  old document and write every entry of the new one. Installed by recompiling the two
  update methods from their own source with that one call changed (`_patched`), so the
  rest of each method stays SecantusDB's code, line for line.
- A catalogue memo: within one attempt of an update (one WiredTiger transaction, or one
  statement of a user transaction) the index catalogue is read once per collection instead
  of about a dozen times.
- `candidates_by_id`: the documents a write (update, delete) considers, when its filter
  names an `_id` alongside other fields, found through the `_id` alone (the caller checks
  the whole filter on each), where the shipped lookup tried the collection's other
  indexes first.
"""

from __future__ import annotations

import functools
import inspect
import re
import textwrap
import threading
from collections.abc import Callable, Iterator
from typing import Any

# The two update paths, and the text in each that the patch changes.
UPDATE_METHODS = ("_update_matching_single_txn", "_update_chunk")
# Every attribute of `Storage` that `install` sets.
PATCHED = (
    *UPDATE_METHODS,
    "_iter_indexes",
    "_maybe_mark_multikey",
    "_rewrite_index_entries",
    "_candidates_iter",
)
_DELETE_OLD = re.compile(
    r"self\._delete_index_entries\(db, coll, doc, indexes, partials, recordid=recordid\)"
)
_WRITE_NEW = re.compile(
    r"self\._write_index_entries\((\s*)db, coll, new, indexes, partials, recordid=recordid(\s*)\)"
)


def rewrite_index_entries(
    self: Any,
    db: str,
    coll: str,
    old: dict[str, Any],
    new: dict[str, Any],
    indexes: list[tuple[str, dict[str, Any], bool, bool]],
    partials: dict[str, dict[str, Any]] | None = None,
    *,
    recordid: int,
) -> None:
    """`_delete_index_entries(old)` then `_write_index_entries(new)`, touching only the keys
    that differ: per index, the keys `old` contributed and `new` does not are removed (their
    unique claims given back), the keys `new` adds are written (and claimed), the rest stay.

    A kept key of a unique (or `prepareUnique`) index keeps its claim when this document
    holds it, and is claimed as the shipped rewrite would claim it otherwise, so a missing
    or foreign claim ends the same way (taken, or refused). A geo index's keys are its
    cells.
    """
    from secantus import storage

    if not indexes:
        return
    if partials is None:
        partials = self._partial_filters(db, coll)
    index_options = self._index_options_map(db, coll)
    for index in indexes:
        options, partial = index_options.get(index[0], {}), partials.get(index[0])
        try:
            _rewrite_keys(self, db, coll, index, options, partial, old, new, recordid)
        except storage.GeoExtractError:
            # The old document's geometry no longer parses (it predates a stricter check;
            # nothing was written yet): the shipped delete skips it, as it does here.
            self._delete_index_entries(db, coll, old, [index], partials, recordid=recordid)
            self._write_index_entries(db, coll, new, [index], partials, recordid=recordid)


def _rewrite_keys(
    self: Any,
    db: str,
    coll: str,
    index: tuple[str, dict[str, Any], bool, bool],
    options: dict[str, Any],
    partial: dict[str, Any] | None,
    old: dict[str, Any],
    new: dict[str, Any],
    recordid: int,
) -> None:
    """`rewrite_index_entries` for one index."""
    from secantus import storage

    name, key_spec, _sparse, unique = index
    collation = storage._parse_index_collation(options.get("collation"))
    enforce = unique or bool(options.get("prepareUnique"))
    before, after = (_keys(doc, index, options, collation, partial) for doc in (old, new))
    if before == after and not enforce:
        return
    gone = [kb for kb in before if kb not in after]
    added = [kb for kb in after if kb not in before]
    if enforce and gone:
        self._release_unique_keys(db, coll, name, gone, recordid)
    entries = self._cursor(storage._IDX_ENTRIES_TABLE)
    for kb in gone:
        entries.reset()
        entries.set_key(db, coll, name, storage._pack_entry(kb, recordid))
        if entries.search() == 0:
            entries.remove()
    for kb in added:
        entries.reset()
        entries[db, coll, name, storage._pack_entry(kb, recordid)] = b""
        if enforce:
            self._claim_unique_key(db, coll, name, kb, recordid, key_spec, new, collation)
    if enforce:
        for kb in after:
            if kb not in before or _holds_claim(self, db, coll, name, kb, recordid):
                continue
            self._claim_unique_key(db, coll, name, kb, recordid, key_spec, new, collation)


def _keys(
    doc: dict[str, Any],
    index: tuple[str, dict[str, Any], bool, bool],
    options: dict[str, Any],
    collation: Any,
    partial: dict[str, Any] | None,
) -> dict[bytes, None]:
    """The keys (a geo index's cells) `doc` contributes to an index, in the order the
    shipped loops write them."""
    from secantus import storage

    name, key_spec, sparse, _unique = index
    if partial is not None and not storage.matches(doc, partial):
        return {}
    geo = storage._geo_type_of(key_spec)
    if geo is not None:
        return dict.fromkeys(storage._doc_geo_cells(doc, *geo, options, index_name=name))
    variants = storage._index_key_variants(doc, key_spec, sparse=sparse, collation=collation)
    return dict.fromkeys(variants)


def _holds_claim(self: Any, db: str, coll: str, name: str, kb: bytes, recordid: int) -> bool:
    from secantus import storage

    claims = self._cursor(storage._UNIQ_TABLE)
    claims.reset()
    claims.set_key(db, coll, name, storage._escape_kb(kb))
    return bool(claims.search() == 0 and claims.get_value() == recordid)


def _patched(method: Callable[..., Any]) -> Callable[..., Any]:
    """`method` (one of `UPDATE_METHODS`, as shipped) recompiled with its index upkeep
    replaced: the delete of the old document's entries goes, and the write of the new
    one's becomes `_rewrite_index_entries(old, new)`. Each text must occur exactly once:
    otherwise the source is not the one this was written against, and it raises (the
    database does not start) rather than run a half-read patch."""
    from secantus import storage

    source = textwrap.dedent(inspect.getsource(method))
    source, deletes = _DELETE_OLD.subn("pass", source)
    source, writes = _WRITE_NEW.subn(
        r"self._rewrite_index_entries(\1db, coll, doc, new, indexes, partials, "
        r"recordid=recordid\2)",
        source,
    )
    if (deletes, writes) != (1, 1):
        raise RuntimeError(f"{method.__name__}: not the source the index patch was written for")
    first_line = inspect.getsourcelines(method)[1]
    code = compile("\n" * (first_line - 1) + source, inspect.getsourcefile(method) or "", "exec")
    namespace: dict[str, Any] = {}
    exec(code, vars(storage), namespace)  # SecantusDB's own source, edited above
    patched: Callable[..., Any] = namespace[method.__name__]
    return patched


# The catalogue memo: (the WiredTiger session it was read in, {(db, coll): the catalogue's
# rows as stored}), per thread, while an update attempt runs on it.
_memo = threading.local()


def _with_catalogue_memo(attempt: Callable[..., Any]) -> Callable[..., Any]:
    """One attempt of an update method (inside SecantusDB's retry on write conflicts, so a
    retry, which may follow an index build, reads afresh) with the catalogue memo on."""

    @functools.wraps(attempt)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        outer = getattr(_memo, "rows", None)
        _memo.rows = (None, {})
        try:
            return attempt(self, *args, **kwargs)
        finally:
            _memo.rows = outer

    return run


def _memo_rows(self: Any, db: str, coll: str) -> list[tuple[str, bytes]] | None:
    """This collection's catalogue as this attempt's transaction sees it, read once; None
    outside an update attempt, or in another session than the one it began reading in
    (SecantusDB swaps sessions to read committed data for a constraint check)."""
    from secantus import storage

    memo = getattr(_memo, "rows", None)
    if memo is None:
        return None
    session = self._session()
    if memo[0] is None:
        memo = _memo.rows = (session, memo[1])
    elif memo[0] is not session:
        return None
    rows: list[tuple[str, bytes]] | None = memo[1].get((db, coll))
    if rows is None:
        rows = []
        c = self._cursor(storage._IDX_TABLE)
        c.set_key(db, coll, "")
        rc = c.search_near()
        if rc != storage.wt.WT_NOTFOUND and (rc >= 0 or c.next() == 0):
            while True:
                k = c.get_key()
                if k[0] != db or k[1] != coll:
                    break
                rows.append((k[2], bytes(c.get_value())))
                if c.next() != 0:
                    break
        memo[1][(db, coll)] = rows
    return rows


def _forget(db: str, coll: str) -> None:
    memo = getattr(_memo, "rows", None)
    if memo is not None:
        memo[1].pop((db, coll), None)


def candidates_by_id(shipped: Callable[..., Any]) -> Callable[..., Any]:
    """`Storage._candidates_iter` (the write paths' candidate rows), looking a filter with
    an `_id` equality up by the `_id` alone. Sound because every caller applies the whole
    filter to each candidate and an `_id` condition at the top of a filter is a conjunct:
    a document the filter matches has that `_id`. The shipped method serves the `_id`
    alone (its point lookup; a timeseries collection goes its own way there)."""
    from secantus import storage

    @functools.wraps(shipped)
    def candidates(self: Any, db: str, coll: str, filter: dict[str, Any] | None) -> Any:
        if (
            filter
            and len(filter) > 1
            and "_id" in filter
            and storage._id_point_lookup_keys(filter["_id"]) is not None
        ):
            return shipped(self, db, coll, {"_id": filter["_id"]})
        return shipped(self, db, coll, filter)

    return candidates


def install(storage_class: Any) -> None:
    """Patch `storage_class` (SecantusDB 0.7.0b3's `Storage`) in place."""
    from secantus import storage

    if "_rewrite_index_entries" in vars(storage_class):
        return  # installed already
    shipped_iter_indexes = storage_class._iter_indexes
    shipped_mark_multikey = storage_class._maybe_mark_multikey

    def iter_indexes(self: Any, db: str, coll: str) -> Iterator[tuple[str, Any, Any]]:
        rows = _memo_rows(self, db, coll)
        if rows is None:
            yield from shipped_iter_indexes(self, db, coll)
            return
        for name, raw in rows:  # decoded afresh: callers may change what they get
            payload = storage.bson.decode(raw)
            yield name, payload.get("key", {}), payload.get("options", {})

    def maybe_mark_multikey(
        self: Any, db: str, coll: str, doc: Any, indexes: Any, already: set[str]
    ) -> set[str]:
        # The one catalogue write an update makes (inside its transaction): a new multikey
        # flag. Read the catalogue again after one (or after a flag found already set).
        known = len(already)
        marked: set[str] = shipped_mark_multikey(self, db, coll, doc, indexes, already)
        if len(marked) != known:
            _forget(db, coll)
        return marked

    for name in UPDATE_METHODS:
        # Each is SecantusDB's retry wrapper around one attempt (`__wrapped__`).
        patched = _patched(getattr(storage_class, name).__wrapped__)
        attempt = _with_catalogue_memo(getattr(patched, "__wrapped__"))  # noqa: B009
        setattr(storage_class, name, storage._retry_write_conflicts(attempt))
    storage_class._candidates_iter = candidates_by_id(storage_class._candidates_iter)
    storage_class._rewrite_index_entries = rewrite_index_entries
    storage_class._iter_indexes = iter_indexes
    storage_class._maybe_mark_multikey = maybe_mark_multikey
