"""SecantusDB's index upkeep on update, as the embedded database runs it
(clubpengu/secantus_indexes.py): after random inserts, updates, multi-updates, unique
clashes, transactions committed and aborted and index builds and drops, every index holds
exactly the entries and unique claims its documents make, and every indexed query finds
what a collection scan finds. The same check catches deliberately broken rewrites; an
update that changes no indexed key writes no index entry, and reads the catalogue once."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError
from secantus import storage as secantus_storage
from secantus.server import SecantusDBServer
from secantus.storage import Storage

from clubpengu import secantus_indexes
from clubpengu.db import EmbeddedDatabase
from tests.support import fixes_applied

PLAYERS = [f"p{n}" for n in range(6)]
NAMES = ["ann", "bob", "cy", "dee"]
INDEXES: list[tuple[list[tuple[str, int]], dict[str, Any]]] = [
    ([("status", 1), ("turn", 1)], {"name": "sweep"}),
    ([("wallets", 1), ("createdAt", -1)], {"name": "history"}),
    (
        [("playing", 1)],
        {
            "name": "one_active",
            "unique": True,
            "partialFilterExpression": {"status": "active", "playing": {"$exists": True}},
        },
    ),
    ([("name", 1)], {"name": "by_name", "unique": True, "sparse": True}),
    ([("aftermath", 1), ("endedAt", 1)], {"name": "aftermath"}),
    ([("tag", 1)], {"name": "tag", "collation": {"locale": "en", "strength": 2}}),
    ([("pos", "2d")], {"name": "pos"}),
]
EXTRA = ([("turn", 1), ("note", 1)], {"name": "extra"})


@pytest.fixture
def fixed() -> Iterator[None]:
    """The fixes applied in this process, for the test; SecantusDB as shipped after it."""
    with fixes_applied():
        yield


@pytest.fixture
def in_process(fixed: None, tmp_path: Path) -> Iterator[tuple[SecantusDBServer, MongoClient[Any]]]:
    """SecantusDB in this process (so a test can reach its storage), with the fixes."""
    server = SecantusDBServer(port=0, storage_path=str(tmp_path / "db"))
    server.start()
    client: MongoClient[Any] = MongoClient(server.uri)
    try:
        yield server, client
    finally:
        client.close()
        server.stop()


def _doc(rng: random.Random, n: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": n,
        "status": rng.choice(["active", "active", "ended"]),
        "turn": rng.randrange(3),
        "wallets": rng.sample(PLAYERS, 2),
        "createdAt": rng.randrange(5),
        "log": [],
    }
    doc["playing"] = [w for w in doc["wallets"] if rng.random() < 0.7]
    if rng.random() < 0.5:
        doc["name"] = rng.choice(NAMES)
    return doc


def _change(rng: random.Random) -> dict[str, Any]:
    """One update: of indexed keys or not, in and out of the partial index, arrays."""
    return rng.choice(
        [
            lambda: {"$set": {"note": rng.randrange(100)}},
            lambda: {"$push": {"log": {"m": rng.randrange(9)}}},
            lambda: {"$inc": {"turn": 1}},
            lambda: {"$set": {"status": rng.choice(["active", "ended"])}},
            lambda: {"$set": {"playing": rng.sample(PLAYERS, rng.randrange(3))}},
            lambda: {"$unset": {"playing": ""}},
            lambda: {"$push": {"wallets": rng.choice(PLAYERS)}},
            lambda: {"$pull": {"wallets": rng.choice(PLAYERS)}},
            lambda: {"$set": {"name": rng.choice(NAMES)}},
            lambda: {"$unset": {"name": ""}},
            lambda: {"$set": {"aftermath": True, "endedAt": rng.randrange(9)}},
            lambda: {"$unset": {"aftermath": "", "endedAt": ""}},
            lambda: {"$set": {"turn": rng.randrange(3), "note": rng.randrange(3)}},
            lambda: {"$set": {"tag": rng.choice(["a", "A", "b"])}},
            lambda: {"$set": {"pos": [rng.randrange(5), rng.randrange(5)]}},
        ]
    )()


def play(client: MongoClient[Any], seed: int, steps: int = 400) -> Counter[str]:
    """Random writes to `t.m` through `client`, a refused one checked to leave nothing
    behind; what happened, by kind."""
    rng = random.Random(seed)
    coll = client.t.m
    for keys, options in INDEXES:
        coll.create_index(keys, **options)
    seen: Counter[str] = Counter()
    next_id = 0
    for _ in range(steps):
        ids = [d["_id"] for d in coll.find({}, {"_id": 1})]
        roll = rng.random()
        if roll < 0.15 or not ids:
            seen[_write(coll, "insert", partial(coll.insert_one, _doc(rng, next_id)))] += 1
            next_id += 1
        elif roll < 0.70:
            write = partial(coll.update_one, _by_id(rng, ids), _change(rng))
            seen[_write(coll, "update", write)] += 1
        elif roll < 0.75:
            write = partial(coll.find_one_and_update, {"_id": rng.choice(ids)}, _change(rng))
            seen[_write(coll, "find_and_modify", write)] += 1
        elif roll < 0.80:
            status = rng.choice(["active", "ended"])
            write = partial(coll.update_many, {"status": status}, _change(rng))
            seen[_write(coll, "update_many", write)] += 1
        elif roll < 0.83:
            doc = _doc(rng, rng.choice(ids))
            seen[_write(coll, "replace", partial(coll.replace_one, {"_id": doc["_id"]}, doc))] += 1
        elif roll < 0.85:
            coll.delete_one(_by_id(rng, ids))
            seen["delete"] += 1
        elif roll < 0.95:
            seen[_transaction(client, rng, ids)] += 1
        elif "extra" not in coll.index_information():
            coll.create_index(EXTRA[0], **EXTRA[1])
            seen["index built"] += 1
        else:
            coll.drop_index(EXTRA[1]["name"])
            seen["index dropped"] += 1
    _clash(coll, seen)
    return seen


def _by_id(rng: random.Random, ids: list[int]) -> dict[str, Any]:
    """A write's filter: an `_id`, alone or with a condition that may not hold."""
    query: dict[str, Any] = {"_id": rng.choice(ids)}
    if rng.random() < 0.5:
        query["status"] = rng.choice(["active", "ended"])
    return query


def _clash(coll: Any, seen: Counter[str]) -> None:
    """The unique clashes, deliberately: a taken name, a player already in an active match."""
    taken = coll.find_one({"name": {"$exists": True}})
    other = coll.find_one({"name": {"$ne": taken["name"] if taken else None}})
    if taken and other:
        change = {"$set": {"name": taken["name"]}}
        seen[_write(coll, "update", partial(coll.update_one, {"_id": other["_id"]}, change))] += 1
    busy = coll.find_one({"status": "active", "playing.0": {"$exists": True}})
    idle = coll.find_one({"status": "ended"})
    if busy and idle:
        change = {"$set": {"status": "active", "playing": [busy["playing"][0]]}}
        seen[_write(coll, "update", partial(coll.update_one, {"_id": idle["_id"]}, change))] += 1


def _documents(coll: Any) -> list[dict[str, Any]]:
    return sorted(coll.find(), key=lambda d: d["_id"])


def _write(coll: Any, kind: str, write: Callable[[], Any]) -> str:
    """`write`, or its refusal as a duplicate key, which must leave every document as it was
    (but for a multi-update's documents before the one refused: as in mongod, they stay)."""
    before = _documents(coll)
    try:
        write()
    except DuplicateKeyError:
        if kind != "update_many":
            assert _documents(coll) == before
        return f"{kind} refused"
    return kind


def _transaction(client: MongoClient[Any], rng: random.Random, ids: list[int]) -> str:
    """A few updates in a transaction, committed or aborted (or aborted by a clash)."""
    coll = client.t.m
    before = _documents(coll)
    outcome = rng.choice(["transaction committed", "transaction aborted"])
    with client.start_session() as session:
        session.start_transaction()
        try:
            for _ in range(rng.randrange(1, 4)):
                coll.update_one({"_id": rng.choice(ids)}, _change(rng), session=session)
        except DuplicateKeyError:
            outcome = "transaction refused"
        if outcome == "transaction committed":
            session.commit_transaction()
        elif session.in_transaction:
            session.abort_transaction()
    if outcome != "transaction committed":
        assert _documents(coll) == before
    return outcome


def index_errors(storage: Storage, db: str = "t", coll: str = "m") -> list[str]:
    """Where the stored index entries and unique claims differ from those the documents
    make; each index's hinted lookup of each document's keys is checked by `scan_errors`."""
    storage._refresh_read_snapshot()
    docs = [
        (rid, secantus_storage.bson.decode(blob)) for rid, _k, blob in storage._scan_docs(db, coll)
    ]
    want_entries: set[tuple[str, bytes]] = set()
    want_claims: dict[tuple[str, bytes], int] = {}
    for name, key_spec, options in storage._iter_indexes(db, coll):
        partial = options.get("partialFilterExpression")
        collation = secantus_storage._parse_index_collation(options.get("collation"))
        geo = secantus_storage._geo_type_of(key_spec)
        for rid, doc in docs:
            if partial and not secantus_storage.matches(doc, partial):
                continue
            if geo is not None:
                keys = secantus_storage._doc_geo_cells(doc, *geo, options, index_name=name)
            else:
                keys = secantus_storage._index_key_variants(
                    doc, key_spec, sparse=bool(options.get("sparse")), collation=collation
                )
            for kb in keys:
                want_entries.add((name, secantus_storage._pack_entry(kb, rid)))
                if options.get("unique"):
                    want_claims[(name, secantus_storage._escape_kb(kb))] = rid
    entries = {
        (k[2], bytes(k[3]))
        for k, _v in storage._collect_prefix(secantus_storage._IDX_ENTRIES_TABLE, (db, coll))
    }
    claims = {
        (k[2], bytes(k[3])): v
        for k, v in storage._collect_prefix(secantus_storage._UNIQ_TABLE, (db, coll))
    }
    errors = [f"entry missing: {e}" for e in sorted(want_entries - entries)]
    errors += [f"entry left over: {e}" for e in sorted(entries - want_entries)]
    errors += [
        f"claim {key}: {claims.get(key)} not {rid}"
        for key, rid in want_claims.items()
        if claims.get(key) != rid
    ]
    errors += [f"claim left over: {key}" for key in claims.keys() - want_claims.keys()]
    return errors


def scan_errors(client: MongoClient[Any]) -> list[str]:
    """Each document's own keys, looked up through each index (hinted), against the same
    query without an index."""
    coll = client.t.m
    errors = []
    for index in coll.list_indexes():
        name, keys = index["name"], list(index["key"])
        if name == "_id_" or "2d" in index["key"].values():
            continue
        partial = index.get("partialFilterExpression", {})
        for doc in coll.find():
            query = {key: _first(doc.get(key)) for key in keys} | partial
            if any(value is None for value in query.values()):
                continue
            hinted = {d["_id"] for d in coll.find(query).hint(name)}
            scanned = {d["_id"] for d in coll.find(query).hint({"$natural": 1})}
            if hinted != scanned:
                errors.append(f"{name} {query}: index {sorted(hinted)}, scan {sorted(scanned)}")
    return errors


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_index_agrees_with_its_documents(
    in_process: tuple[SecantusDBServer, MongoClient[Any]], seed: int
) -> None:
    server, client = in_process

    seen = play(client, seed)

    assert client.t.m.count_documents({}) > 10
    kinds = {"update", "update refused", "find_and_modify", "update_many", "replace"}
    kinds |= {"transaction committed", "transaction aborted", "index built", "index dropped"}
    assert kinds <= seen.keys(), seen
    assert index_errors(server.storage) == []
    assert scan_errors(client) == []


def test_the_embedded_database_keeps_its_indexes_whole(tmp_path: Path) -> None:
    """The same, against the embedded database's own process, checked after it stopped."""
    with EmbeddedDatabase(tmp_path) as database:
        client: MongoClient[Any] = MongoClient(database.uri)
        try:
            play(client, seed=7)
            assert scan_errors(client) == []
        finally:
            client.close()
    storage = Storage(str(database.storage_path))
    try:
        assert index_errors(storage) == []
    finally:
        storage.close()


def _keeps_gone_keys(
    self: Any, db: str, coll: str, old: Any, new: Any, *args: Any, **kw: Any
) -> None:
    self._write_index_entries(db, coll, new, *args, **kw)


def _skips_kept_claims(
    self: Any, db: str, coll: str, old: Any, new: Any, indexes: Any, *args: Any, **kw: Any
) -> None:
    plain = [(name, spec, sparse, False) for name, spec, sparse, _unique in indexes]
    secantus_indexes.rewrite_index_entries(self, db, coll, old, new, plain, *args, **kw)
    for name, spec, sparse, unique in indexes:
        if unique:
            kb_old = secantus_storage._index_key_variants(old, spec, sparse=sparse)
            self._release_unique_keys(db, coll, name, list(kb_old), kw["recordid"])


def _ignores_partial_filters(
    self: Any, db: str, coll: str, old: Any, new: Any, indexes: Any, partials: Any, **kw: Any
) -> None:
    secantus_indexes.rewrite_index_entries(self, db, coll, old, new, indexes, {}, **kw)


@pytest.mark.parametrize("broken", [_keeps_gone_keys, _skips_kept_claims, _ignores_partial_filters])
def test_the_check_catches_a_broken_rewrite(
    in_process: tuple[SecantusDBServer, MongoClient[Any]],
    monkeypatch: pytest.MonkeyPatch,
    broken: Callable[..., None],
) -> None:
    server, client = in_process
    monkeypatch.setattr(Storage, "_rewrite_index_entries", broken)

    with pytest.raises(AssertionError):  # a refused write may leave a trace, too
        play(client, seed=1)
        assert index_errors(server.storage) == []


class _StickyMemo:
    """A catalogue memo that, once set, outlives every update (and thread)."""

    def __init__(self) -> None:
        self._rows: Any = None

    @property
    def rows(self) -> Any:
        return self._rows

    @rows.setter
    def rows(self, value: Any) -> None:
        if self._rows is None:
            self._rows = value


def test_the_check_catches_a_catalogue_read_kept_past_its_update(
    in_process: tuple[SecantusDBServer, MongoClient[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, client = in_process
    monkeypatch.setattr(secantus_indexes, "_memo", _StickyMemo())
    coll = client.t.m
    coll.insert_one({"_id": 1, "turn": 0, "note": 0})
    coll.update_one({"_id": 1}, {"$inc": {"turn": 1}})
    coll.create_index(EXTRA[0], **EXTRA[1])

    coll.update_one({"_id": 1}, {"$inc": {"turn": 1}})  # the memo knows no `extra`

    assert index_errors(server.storage) != []


def _counting(monkeypatch: pytest.MonkeyPatch, counts: dict[str, int], name: str) -> None:
    shipped = getattr(Storage, name)

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        key = f"{name} {args[0]}" if name == "_cursor" else name
        counts[key] = counts.get(key, 0) + 1
        return shipped(self, *args, **kwargs)

    monkeypatch.setattr(Storage, name, counted)


MATCH = {"_id": 1, "status": "active", "wallets": ["a", "b"], "playing": ["a"], "name": "ann"}


def test_an_update_of_no_indexed_key_writes_no_index_entry(
    in_process: tuple[SecantusDBServer, MongoClient[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, client = in_process
    coll = client.t.m
    for keys, options in INDEXES:
        coll.create_index(keys, **options)
    coll.insert_one(dict(MATCH, turn=0))
    counts: dict[str, int] = {}
    for name in (
        "_delete_index_entries",
        "_write_index_entries",
        "_claim_unique_key",
        "_release_unique_keys",
    ):
        _counting(monkeypatch, counts, name)

    coll.update_one({"_id": 1}, {"$push": {"log": 1}, "$set": {"note": "x"}})
    coll.update_one({"_id": 1}, {"$set": {"turn": 3}})  # only `sweep`'s key changes

    assert counts == {}
    assert coll.find_one({"status": "active", "turn": 3}, hint="sweep")["_id"] == 1
    assert coll.find_one({"status": "active", "turn": 0}, hint="sweep") is None


def test_an_update_reads_the_index_catalogue_once(
    in_process: tuple[SecantusDBServer, MongoClient[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, client = in_process
    coll = client.t.m
    for keys, options in INDEXES:
        coll.create_index(keys, **options)
    coll.insert_one(dict(MATCH, turn=0))
    counts: dict[str, int] = {}
    _counting(monkeypatch, counts, "_cursor")

    coll.update_one({"_id": 1, "status": "active"}, {"$inc": {"turn": 1}})

    # Once to read it, once where the update looks for a new multikey flag (the shipped
    # update took the catalogue's cursor 13 times).
    assert counts[f"_cursor {secantus_storage._IDX_TABLE}"] == 2


def test_an_update_claims_a_kept_key_it_did_not_hold(
    in_process: tuple[SecantusDBServer, MongoClient[Any]],
) -> None:
    """An index made to enforce uniqueness afterwards (`prepareUnique`) holds no claims for
    the documents already there; the shipped update claimed a document's keys on its next
    write, whatever it changed, and so does the patched one."""
    server, client = in_process
    coll = client.t.m
    coll.create_index([("name", 1)], name="by_name")
    coll.insert_many([{"_id": 1, "name": "ann"}, {"_id": 2, "name": "bob"}])
    client.t.command("collMod", "m", index={"name": "by_name", "prepareUnique": True})

    coll.update_one({"_id": 1}, {"$set": {"note": 1}})

    claims = server.storage._collect_prefix(secantus_storage._UNIQ_TABLE, ("t", "m", "by_name"))
    assert [(bytes(key[3]), rid) for key, rid in claims] == [
        (secantus_storage._escape_kb(kb), 1)
        for kb in secantus_storage._index_key_variants({"name": "ann"}, {"name": 1}, sparse=False)
    ]
    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"_id": 3, "name": "ann"})


@pytest.mark.parametrize(
    ("query", "matched"),
    [
        ({"_id": 1, "status": "active"}, [1]),
        ({"_id": 1, "status": "ended"}, []),
        ({"_id": {"$in": [1, 2, 3]}, "status": "active"}, [1, 3]),
        ({"_id": {"$eq": 2}, "$or": [{"turn": 5}, {"status": "ended"}]}, [2]),
        ({"_id": 4, "status": "active"}, []),
    ],
)
def test_a_write_by_id_and_more_looks_up_the_id_alone(
    in_process: tuple[SecantusDBServer, MongoClient[Any]],
    monkeypatch: pytest.MonkeyPatch,
    query: dict[str, Any],
    matched: list[int],
) -> None:
    """The other indexes (`sweep` leads with `status`) are not consulted, and the whole
    filter still decides."""
    server, client = in_process
    coll = client.t.m
    for keys, options in INDEXES:
        coll.create_index(keys, **options)
    statuses = {1: "active", 2: "ended", 3: "active"}
    coll.insert_many(
        [dict(MATCH, _id=n, status=s, playing=[f"p{n}"], name=f"n{n}") for n, s in statuses.items()]
    )
    counts: dict[str, int] = {}
    for name in ("_try_compound_eq_id_keys", "_find_leading_field_index"):
        _counting(monkeypatch, counts, name)

    updated = coll.update_many(query, {"$set": {"touched": True}}).matched_count
    deleted = coll.delete_many(dict(query, touched=True)).deleted_count

    assert counts == {}
    assert (updated, deleted) == (len(matched), len(matched))
    assert sorted(d["_id"] for d in coll.find()) == sorted(statuses.keys() - set(matched))
    assert index_errors(server.storage) == []


def _an_update_of_another_shape(self: Any, db: str, coll: str) -> None:
    self._write_index_entries(db, coll, {}, [], {}, recordid=0)


def test_the_patch_refuses_a_source_it_was_not_written_for() -> None:
    with pytest.raises(RuntimeError, match="not the source"):
        secantus_indexes._patched(_an_update_of_another_shape)
