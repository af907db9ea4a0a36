"""Backup and restore against the harness's FerretDB: round trips byte for byte, the restore
modes, refusals that leave the database untouched, and crashes at every step."""

import datetime
import gzip
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
import uuid
from pathlib import Path

import bson
import pymongo
import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils import (
    _archive_bson,
    _archive_format,
    _archive_readers,
    _archive_write_backup,
    _archive_write_mongodump,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils import mongodb_backup as backup
from ansible_collections.vhvcorp.devtools.plugins.module_utils import mongodb_restore as restore
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb import (
    document_count,
    server_capabilities,
)
from bson.binary import Binary
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.son import SON
from bson.timestamp import Timestamp

pytestmark = pytest.mark.integration


class SimulatedKill(BaseException):
    """Raised by the fault hook: like a SIGKILL, no `except Exception` cleanup runs."""


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def caps(mongo_client):
    return server_capabilities(mongo_client)


@pytest.fixture
def other_db(mongo_client, fresh_db_name):
    name = fresh_db_name + "_b"
    yield name
    mongo_client.drop_database(name)


def raw_docs(collection, sort=True):
    kwargs = {"sort": [("_id", 1)]} if sort else {}
    out = []
    for batch in collection.find_raw_batches(**kwargs):
        offsets = _archive_bson.split_documents(batch, "test")
        ends = offsets[1:] + [len(batch)]
        out.extend(batch[a:b] for a, b in zip(offsets, ends, strict=True))
    return out


def indexes(collection):
    return sorted(
        (json.dumps({k: v for k, v in i.items() if k != "ns"}, default=str, sort_keys=False))
        for i in collection.list_indexes()
    )


def snapshot(client, dbname):
    """Everything a restore could change in a database: names, documents, indexes."""
    db = client[dbname]
    return {
        name: (raw_docs(db[name], sort=False), indexes(db[name]))
        for name in sorted(db.list_collection_names())
    }


def insert_raw(collection, docs):
    collection.insert_many([bson.raw_bson.RawBSONDocument(d) for d in docs])


def ferretdb_types():
    """Every type FerretDB 1.24 stores byte for byte (measured), one per document and all
    together."""
    values = {
        "objectid": ObjectId("65f0c0ffee0123456789abcd"),
        "string": "héllo wörld ✓",
        "megabyte_string": "m" * 1_000_000,
        "int32": -2_147_483_648,
        "int64": Int64(2**62 + 1),
        "double": 3.141592653589793,
        "true": True,
        "false": False,
        "null": None,
        "datetime": datetime.datetime(2026, 11, 24, 2, 0, 0, 123000),
        "timestamp": Timestamp(1_700_000_000, 7),
        "regex": Regex(r"^a.*z$", "ims"),
        "document": {"nested": {"deeper": [1, "two", {"three": 3}]}},
        "array": [1, "two", 3.5, None, {"x": 1}],
        "": "empty key",
        "ünïcode-kéy": "unicode key",
    }
    for subtype in (0, 1, 2, 3, 4, 5, 6, 7, 8, 0x80):
        values[f"binary_{subtype}"] = Binary(
            uuid.UUID(int=subtype).bytes if subtype in (3, 4) else b"\x00\x01\xfe\xff", subtype
        )
    docs = [bson.encode(SON([("_id", i), (k, v)])) for i, (k, v) in enumerate(values.items())]
    docs.append(bson.encode(SON([("_id", 10_000)] + list(values.items()))))
    return docs


def make_backup(client, caps, dbname, dest, **kwargs):
    return backup.run_backup(client, str(dest), databases=[dbname], capabilities=caps, **kwargs)


def do_restore(client, caps, src, **kwargs):
    return restore.restore(client, str(src), capabilities=caps, **kwargs)


def reserved_collections(client, *dbnames):
    return [
        (d, n)
        for d in dbnames
        for n in client[d].list_collection_names()
        if n.startswith(restore.RESERVED_PREFIX)
    ]


# --- round trips --------------------------------------------------------------------------------


def test_round_trip_of_every_type_ferretdb_stores(
    mongo_client, caps, fresh_db_name, other_db, tmp_path
):
    source = mongo_client[fresh_db_name]
    docs = ferretdb_types()
    insert_raw(source.things, docs)
    source.things.create_index([("string", 1), ("int32", -1)], name="string_int", unique=True)
    source.things.create_index("datetime")
    insert_raw(source.plain, [bson.encode({"_id": i, "v": i}) for i in range(300)])
    before = raw_docs(source.things)
    assert before == sorted(docs, key=lambda d: bson.decode(d)["_id"])  # stored byte for byte

    result = make_backup(mongo_client, caps, fresh_db_name, tmp_path, verify="full")
    assert {(c["collection"], c["documents"]) for c in result["collections"]} == {
        ("things", len(docs)),
        ("plain", 300),
    }

    restored = do_restore(
        mongo_client, caps, result["path"], ns_from=[fresh_db_name + ".*"], ns_to=[other_db + ".*"]
    )
    assert restored["changed"] and restored["swap_method"] == "journaled"
    assert {c["action"] for c in restored["collections"]} == {"created"}
    target = mongo_client[other_db]
    assert raw_docs(target.things) == before
    assert raw_docs(target.plain) == raw_docs(source.plain)
    assert indexes(target.things) == indexes(source.things)
    assert sorted(target.list_collection_names()) == ["plain", "things"]

    # The same backup into its own database, after the database was dropped.
    mongo_client.drop_database(fresh_db_name)
    again = do_restore(mongo_client, caps, result["path"])
    assert [c["namespace"] for c in again["collections"]] == [
        fresh_db_name + ".plain",
        fresh_db_name + ".things",
    ]
    assert raw_docs(mongo_client[fresh_db_name].things) == before
    assert indexes(mongo_client[fresh_db_name].things) == indexes(target.things)


def test_rerun_changes_nothing_and_check_mode_lists_counts(
    mongo_client, caps, fresh_db_name, other_db, tmp_path
):
    insert_raw(
        mongo_client[fresh_db_name].users,
        [bson.encode({"_id": i, "email": f"u{i}@example.com"}) for i in range(40)],
    )
    mongo_client[fresh_db_name].users.create_index("email", unique=True)
    path = make_backup(mongo_client, caps, fresh_db_name, tmp_path)["path"]
    rename = dict(ns_from=[fresh_db_name + ".*"], ns_to=[other_db + ".*"])

    preview = do_restore(mongo_client, caps, path, check_mode=True, **rename)
    assert preview["changed"]
    assert preview["collections"][0]["action"] == "create"
    assert preview["collections"][0]["documents"] == 40
    assert other_db not in mongo_client.list_database_names()  # check mode wrote nothing

    first = do_restore(mongo_client, caps, path, **rename)
    assert first["changed"] and first["collections"][0]["action"] == "created"
    second = do_restore(mongo_client, caps, path, **rename)
    assert not second["changed"] and second["collections"][0]["action"] == "unchanged"

    mongo_client[other_db].users.delete_one({"_id": 0})
    preview = do_restore(mongo_client, caps, path, check_mode=True, **rename)
    assert preview["changed"]
    assert preview["collections"][0]["action"] == "replace"
    assert preview["collections"][0]["previous_documents"] == 39
    assert preview["collections"][0]["documents"] == 40
    assert mongo_client[other_db].users.count_documents({}) == 39


def test_drop_mode_replaces_and_merge_mode_keeps_what_is_there(
    mongo_client, caps, fresh_db_name, other_db, tmp_path
):
    insert_raw(
        mongo_client[fresh_db_name].users,
        [bson.encode({"_id": i, "from": "backup"}) for i in range(10)],
    )
    path = make_backup(mongo_client, caps, fresh_db_name, tmp_path)["path"]
    target = mongo_client[other_db].users
    rename = dict(ns_from=[fresh_db_name + ".*"], ns_to=[other_db + ".*"])

    insert_raw(target, [bson.encode({"_id": i, "from": "target"}) for i in range(5, 15)])
    target.create_index("from", name="from_1")
    merged = do_restore(mongo_client, caps, path, restore_mode="merge", **rename)
    item = merged["collections"][0]
    assert item["action"] == "merged" and item["previous_documents"] == 10
    assert item["inserted"] == 5 and item["duplicates_skipped"] == 5
    found = {d["_id"]: d["from"] for d in target.find()}
    assert found == {**{i: "backup" for i in range(5)}, **{i: "target" for i in range(5, 15)}}
    assert "from_1" in {i["name"] for i in target.list_indexes()}  # the target's index kept

    again = do_restore(mongo_client, caps, path, restore_mode="merge", **rename)
    assert not again["changed"] and again["collections"][0]["duplicates_skipped"] == 10

    dropped = do_restore(mongo_client, caps, path, **rename)
    assert dropped["collections"][0]["action"] == "replaced"
    assert raw_docs(target) == raw_docs(mongo_client[fresh_db_name].users)
    assert {i["name"] for i in target.list_indexes()} == {"_id_"}
    assert reserved_collections(mongo_client, other_db) == []


def test_namespace_include_exclude_and_rename(
    mongo_client, caps, fresh_db_name, other_db, tmp_path
):
    source = mongo_client[fresh_db_name]
    for name in ("users", "tenants", "audit_logs"):
        insert_raw(source[name], [bson.encode({"_id": i, "c": name}) for i in range(3)])
    path = make_backup(mongo_client, caps, fresh_db_name, tmp_path)["path"]
    insert_raw(mongo_client[other_db].keep_me, [bson.encode({"_id": 1})])

    result = do_restore(
        mongo_client,
        caps,
        path,
        ns_include=[fresh_db_name + ".*"],
        ns_exclude=[fresh_db_name + ".audit_logs"],
        ns_from=[fresh_db_name + ".*", fresh_db_name + ".users"],
        ns_to=[other_db + ".*", other_db + ".people"],
    )
    assert sorted(c["namespace"] for c in result["collections"]) == [
        other_db + ".people",
        other_db + ".tenants",
    ]
    assert {"source": fresh_db_name + ".audit_logs", "reason": "not included"} in result["skipped"]
    assert sorted(mongo_client[other_db].list_collection_names()) == [
        "keep_me",
        "people",
        "tenants",
    ]
    assert [d["c"] for d in mongo_client[other_db].people.find()] == ["users"] * 3


def test_backup_selection_and_check_mode(mongo_client, caps, fresh_db_name, tmp_path):
    for name in ("users", "tenants", "sessions"):
        insert_raw(mongo_client[fresh_db_name][name], [bson.encode({"_id": 1})])
    preview = make_backup(
        mongo_client,
        caps,
        fresh_db_name,
        tmp_path,
        ns_exclude=[fresh_db_name + ".sessions"],
        check_mode=True,
    )
    assert [c["collection"] for c in preview["collections"]] == ["tenants", "users"]
    assert list(tmp_path.iterdir()) == []
    result = make_backup(
        mongo_client, caps, fresh_db_name, tmp_path, ns_exclude=[fresh_db_name + ".sessions"]
    )
    assert result["path"] == preview["path"]
    with tarfile.open(result["path"]) as tar:
        assert sorted(tar.getnames()) == sorted(
            ["prelude.json", fresh_db_name, "manifest.json"]
            + [
                f"{fresh_db_name}/{c}.{e}"
                for c in ("tenants", "users")
                for e in ("bson", "metadata.json")
            ]
        )
    with pytest.raises(backup.BackupError, match="does not have"):
        make_backup(mongo_client, caps, fresh_db_name + "_missing", tmp_path)


def test_batches_are_sized_from_the_first_documents(mongo_client, fresh_db_name):
    """About BATCH_BYTES per cursor batch, from a sample of the first documents (not
    collStats, which FerretDB answers by sizing the whole collection)."""
    db = mongo_client[fresh_db_name]
    insert_raw(db.big, [bson.encode({"_id": i, "blob": "b" * 1_000_000}) for i in range(20)])
    insert_raw(db.tiny, [bson.encode({"_id": i}) for i in range(50)])
    db.create_collection("empty")
    big = backup._batch_size(db.big, "big")
    assert big == backup.BATCH_BYTES // len(bson.encode({"_id": 0, "blob": "b" * 1_000_000}))
    assert [
        len(_archive_bson.split_documents(b, "big"))
        for b in db.big.find_raw_batches(batch_size=big)
    ] == [big, 20 - big]
    assert backup._batch_size(db.tiny, "tiny") == 100_000
    assert backup._batch_size(db.empty, "empty") is None


def test_document_count_follows_inserts_and_deletes(mongo_client, fresh_db_name):
    """The count reports and check mode give ($collStats, not FerretDB's slow count)."""
    coll = mongo_client[fresh_db_name].users
    mongo_client[fresh_db_name].create_collection("users")
    assert document_count(coll) == 0
    insert_raw(coll, [bson.encode({"_id": i}) for i in range(1234)])
    assert document_count(coll) == 1234
    coll.delete_many({"_id": {"$lt": 10}})
    assert document_count(coll) == 1224


# --- refusals leave the database untouched ------------------------------------------------------


def _truncate(path, tmp_path):
    data = path.read_bytes()
    out = tmp_path / "truncated.tar.gz"
    out.write_bytes(data[: len(data) * 2 // 3])
    return out


def _flip(path, tmp_path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    out = tmp_path / "flipped.tar.gz"
    out.write_bytes(bytes(data))
    return out


def _rewrite(path, tmp_path, change):
    entries = []
    with tarfile.open(path) as tar:
        for info in tar.getmembers():
            data = tar.extractfile(info).read() if info.isreg() else None
            entries.append((info, data))
    entries = change(entries)
    out = tmp_path / "rewritten.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        for info, data in entries:
            if data is None:
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return out


def _unlisted(path, tmp_path):
    def change(entries):
        out = []
        for info, data in entries:
            if info.name == "manifest.json":
                manifest = json.loads(data)
                manifest["files"].pop(next(n for n in manifest["files"] if n.endswith(".bson")))
                data = json.dumps(manifest).encode()
            out.append((info, data))
        return out

    return _rewrite(path, tmp_path, change)


def _extra(name, kind=tarfile.REGTYPE, linkname=""):
    def make(path, tmp_path):
        def change(entries):
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = linkname
            data = bson.encode({"_id": 1}) if kind == tarfile.REGTYPE else None
            return entries + [(info, data)]

        return _rewrite(path, tmp_path, change)

    return make


def _changed_document(path, tmp_path):
    def change(entries):
        out = []
        for info, data in entries:
            if info.name.endswith("users.bson"):
                data = data.replace(b"u7@example.com", b"u7@example.org")
            out.append((info, data))
        return out

    return _rewrite(path, tmp_path, change)


def _archive_with_bad_crc(path, tmp_path):
    inventory_source = _archive_readers.open_source(str(path))
    inventory = inventory_source.scan()
    docs = b"".join(chunk for _, chunk, _ in inventory_source.iter_chunks(inventory.collections))
    buf = io.BytesIO()
    _archive_write_mongodump.write_archive(
        buf,
        [
            _archive_write_mongodump.ArchiveCollection(
                c.db, c.name, _archive_format.metadata_json(c.name, c.indexes), [docs]
            )
            for c in inventory.collections
        ],
    )
    data = bytearray(buf.getvalue())
    data[data.index(b"u7@example.com")] ^= 0x01
    out = tmp_path / "bad.archive.gz"
    out.write_bytes(gzip.compress(bytes(data)))
    return out


def _bad_framing_dir(path, tmp_path):
    out = tmp_path / "dumpdir"
    with tarfile.open(path) as tar:
        tar.extractall(out, filter="data")
    (out / "manifest.json").unlink()
    (out / "prelude.json").unlink()
    bson_file = next(out.rglob("*.bson"))
    bson_file.write_bytes(bson_file.read_bytes()[:-7])  # the last document cut short
    return out


CORRUPTIONS = {
    "truncated": (_truncate, "truncated|damaged"),
    "flipped-byte": (_flip, "truncated|damaged|checksum"),
    "changed-document": (_changed_document, "does not match its checksum"),
    "unlisted-member": (_unlisted, "does not list"),
    "dotdot-member": (_extra("../evil.bson"), "escape the directory"),
    "absolute-member": (_extra("/tmp/evil.bson"), "absolute path"),
    "symlink-member": (_extra("db/evil.bson", tarfile.SYMTYPE, "/etc/passwd"), "link member"),
    "hardlink-member": (_extra("db/evil.bson", tarfile.LNKTYPE, "manifest.json"), "link member"),
    "archive-crc": (_archive_with_bad_crc, "CRC-64"),
    "bson-framing": (_bad_framing_dir, "truncated"),
}


# --- bytes after the end of the input ----------------------------------------------------------

JUNK = b"\xa5" + bytes(range(256)) * 15 + bytes(range(255))  # 4 KB; the first byte not zero


def _dump_tar(path, tmp_path, gz):
    """`tar cf` of the backup unpacked as a mongodump directory (no manifest, no prelude)."""
    out = tmp_path / "dumpdir"
    with tarfile.open(path) as tar:
        tar.extractall(out, filter="data")
    (out / "manifest.json").unlink()
    (out / "prelude.json").unlink()
    made = tmp_path / ("dump.tar.gz" if gz else "dump.tar")
    with tarfile.open(made, "w:gz" if gz else "w") as tar:
        tar.add(out, arcname="dump")
    return made


def _dump_archive(path, tmp_path, gz):
    """The backup's collections as a mongodump --archive."""
    source = _archive_readers.open_source(str(path))
    inventory = source.scan()
    chunks = {}
    for entry, chunk, _ in source.iter_chunks(inventory.collections):
        chunks.setdefault(entry.namespace, []).append(chunk)
    buf = io.BytesIO()
    _archive_write_mongodump.write_archive(
        buf,
        [
            _archive_write_mongodump.ArchiveCollection(
                c.db, c.name, _archive_format.metadata_json(c.name, c.indexes), chunks[c.namespace]
            )
            for c in inventory.collections
        ],
    )
    made = tmp_path / ("dump.archive.gz" if gz else "dump.archive")
    made.write_bytes(gzip.compress(buf.getvalue()) if gz else buf.getvalue())
    return made


INPUT_KINDS = {
    "backup.tar.gz": lambda path, tmp_path: path,
    "dump.tar": lambda path, tmp_path: _dump_tar(path, tmp_path, gz=False),
    "dump.tar.gz": lambda path, tmp_path: _dump_tar(path, tmp_path, gz=True),
    "archive": lambda path, tmp_path: _dump_archive(path, tmp_path, gz=False),
    "archive.gz": lambda path, tmp_path: _dump_archive(path, tmp_path, gz=True),
}


def _moved_on_database(client, caps, dbname, tmp_path):
    """A database with a backup of it, changed since: (the backup, a snapshot of now)."""
    users = client[dbname].users
    insert_raw(users, [bson.encode({"_id": i, "email": f"u{i}@example.com"}) for i in range(20)])
    users.create_index("email", unique=True)
    good = Path(make_backup(client, caps, dbname, tmp_path / "good")["path"])
    # The database moves on after the backup; a refused restore must not touch it.
    users.delete_many({"_id": {"$gte": 15}})
    insert_raw(client[dbname].later, [bson.encode({"_id": "x"})])
    return good, snapshot(client, dbname)


@pytest.mark.parametrize("kind", sorted(INPUT_KINDS))
def test_bytes_after_the_end_of_the_input_are_refused_and_nothing_touched(
    mongo_client, caps, fresh_db_name, tmp_path, kind
):
    good, before = _moved_on_database(mongo_client, caps, fresh_db_name, tmp_path)
    path = INPUT_KINDS[kind](good, tmp_path)
    # As made, the input restores (in check mode: it would replace users).
    preview = do_restore(mongo_client, caps, path, check_mode=True)
    assert [c["action"] for c in preview["collections"]] == ["replace"]
    path.write_bytes(path.read_bytes() + JUNK)
    with pytest.raises(_archive_format.ArchiveError, match="has 4096 bytes after the end of its"):
        do_restore(mongo_client, caps, path)
    assert snapshot(mongo_client, fresh_db_name) == before
    assert reserved_collections(mongo_client, fresh_db_name) == []


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_corrupt_input_is_refused_and_the_database_left_untouched(
    mongo_client, caps, fresh_db_name, tmp_path, kind
):
    good, before = _moved_on_database(mongo_client, caps, fresh_db_name, tmp_path)
    make, message = CORRUPTIONS[kind]
    bad = make(good, tmp_path)
    with pytest.raises(_archive_format.ArchiveError, match=message):
        do_restore(mongo_client, caps, bad)
    assert snapshot(mongo_client, fresh_db_name) == before
    assert reserved_collections(mongo_client, fresh_db_name) == []


def test_documents_ferretdb_refuses_leave_the_target_as_it_was(
    mongo_client, caps, fresh_db_name, tmp_path
):
    users = mongo_client[fresh_db_name].users
    insert_raw(users, [bson.encode({"_id": i}) for i in range(5)])
    before = snapshot(mongo_client, fresh_db_name)
    path = tmp_path / "decimal.tar.gz"
    docs = [bson.encode({"_id": i, "price": Decimal128("1.10")}) for i in range(3)]
    with open(path, "wb") as out:
        _archive_write_backup.write_backup(
            _archive_write_backup.TarballWriter(out),
            [_archive_write_backup.BackupCollection(fresh_db_name, "users", [b"".join(docs)])],
            {"version": "7.0.42"},
            "2026-11-24T02:00:00Z",
        )
    with pytest.raises(restore.RestoreError, match="documents of .*users.*FerretDB"):
        do_restore(mongo_client, caps, path)
    assert snapshot(mongo_client, fresh_db_name) == before
    assert restore.pending_journals(mongo_client, [fresh_db_name]) == {}


# --- crashes ------------------------------------------------------------------------------------


def test_server_killed_mid_backup_leaves_no_file_that_looks_final(
    private_ferretdb, paused_backup, tmp_path
):
    client = pymongo.MongoClient(private_ferretdb.uri, serverSelectionTimeoutMS=2000)
    caps = server_capabilities(client)
    client.big.docs.insert_many([{"_id": i, "payload": "p" * 100} for i in range(5_000)])
    dest = tmp_path / "backups"
    dest.mkdir()
    seen = {}

    def kill_server():
        seen["partial"] = [p.name for p in dest.iterdir()]
        private_ferretdb.kill()

    real = paused_backup.pause_backups(3, kill_server)
    try:
        with pytest.raises(pymongo.errors.PyMongoError):
            backup.run_backup(
                client, str(dest), databases=["big"], capabilities=caps, batch_size=500
            )
    finally:
        backup._collections = real
        client.close()
    assert private_ferretdb.proc.poll() is not None  # it was killed mid-backup
    assert len(seen["partial"]) == 1 and seen["partial"][0].endswith(".partial")
    assert list(dest.iterdir()) == []


def test_killed_backup_process_leaves_a_hidden_partial_the_next_run_removes(
    mongo_client, caps, fresh_db_name, ferretdb_uri, repo_root, tmp_path
):
    payload = "q" * 200
    for start in range(0, 20_000, 5_000):
        mongo_client[fresh_db_name].docs.insert_many(
            [{"_id": i, "payload": payload} for i in range(start, start + 5_000)]
        )
    dest = tmp_path / "daily"
    dest.mkdir()
    env = dict(os.environ, PYTHONPATH=str(repo_root / ".collections"))
    proc = subprocess.Popen(
        [
            sys.executable,
            str(repo_root / "tests" / "integration" / "paused_backup.py"),
            ferretdb_uri,
            str(dest),
            fresh_db_name,
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline() == "paused\n"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
        proc.stdout.close()
    left = sorted(p.name for p in dest.iterdir())
    assert len(left) == 1 and left[0].startswith(".mongodb-") and left[0].endswith(".partial")

    result = make_backup(mongo_client, caps, fresh_db_name, dest)
    assert result["removed_partials"] == [str(dest / left[0])]
    assert sorted(p.name for p in dest.iterdir()) == [Path(result["path"]).name]
    assert result["documents"] == 20_000


@pytest.fixture
def crash_setup(mongo_client, caps, fresh_db_name, other_db, tmp_path):
    """`other_db` holds old users and tenants; a backup of `fresh_db_name` holds new ones."""
    old = {
        "users": [bson.encode({"_id": i, "v": "old"}) for i in range(30)],
        "tenants": [bson.encode({"_id": f"t{i}", "v": "old"}) for i in range(8)],
    }
    new = {
        "users": [bson.encode({"_id": i, "v": "new"}) for i in range(35)],
        "tenants": [bson.encode({"_id": f"t{i}", "v": "new"}) for i in range(9)],
    }
    for name in old:
        insert_raw(mongo_client[other_db][name], old[name])
        insert_raw(mongo_client[fresh_db_name][name], new[name])
    mongo_client[fresh_db_name].users.create_index("v")
    path = make_backup(mongo_client, caps, fresh_db_name, tmp_path)["path"]
    rename = dict(ns_from=[fresh_db_name + ".*"], ns_to=[other_db + ".*"])
    return path, rename, old, new


STEPS = [
    ("staged", 2, False),
    ("committed", 1, True),
    ("aside", 1, True),
    ("swapped_in", 1, True),
    ("dropped_aside", 1, True),
    ("aside", 2, True),
    ("swapped_in", 2, True),
]


@pytest.mark.parametrize(
    "step, occurrence, committed", STEPS, ids=[f"{s}-{n}" for s, n, _ in STEPS]
)
def test_restore_killed_at_each_step_loses_nothing_and_is_repaired(
    mongo_client, caps, other_db, crash_setup, monkeypatch, step, occurrence, committed
):
    path, rename, old, new = crash_setup
    seen = []

    def hook(name, info):
        if name == step:
            seen.append(info)
            if len(seen) == occurrence:
                raise SimulatedKill(name)

    monkeypatch.setattr(restore, "FAULT_HOOK", hook)
    with pytest.raises(SimulatedKill):
        do_restore(mongo_client, caps, path, **rename)
    monkeypatch.setattr(restore, "FAULT_HOOK", None)

    # Nothing is lost: each collection's old data is readable (in place, or set aside while
    # its staging collection holds the new), or its swap is done and the new data is in place.
    db = mongo_client[other_db]
    names = set(db.list_collection_names())
    for coll in ("users", "tenants"):
        current = raw_docs(db[coll]) if coll in names else None
        if current == sorted(old[coll]):
            continue
        if current == sorted(new[coll]):
            assert committed
            continue
        assert current is None, coll
        parked = {n: raw_docs(db[n]) for n in names if n.startswith(restore.RESERVED_PREFIX)}
        assert sorted(old[coll]) in parked.values() and sorted(new[coll]) in parked.values()

    recovered = restore.recover(mongo_client, drop_target=caps["rename_drop_target"])
    assert [r["action"] for r in recovered if r["database"] == other_db] == [
        "rolled_forward" if committed else "rolled_back"
    ]
    expected = new if committed else old
    for coll in ("users", "tenants"):
        assert raw_docs(db[coll]) == sorted(expected[coll])
    assert ("v_1" in {i["name"] for i in db.users.list_indexes()}) == committed
    assert sorted(db.list_collection_names()) == ["tenants", "users"]
    assert restore.recover(mongo_client) == []


def test_the_next_restore_run_repairs_an_interrupted_one_first(
    mongo_client, caps, other_db, crash_setup, monkeypatch
):
    path, rename, old, new = crash_setup

    def hook(name, info):
        if name == "aside":
            raise SimulatedKill(name)

    monkeypatch.setattr(restore, "FAULT_HOOK", hook)
    with pytest.raises(SimulatedKill):
        do_restore(mongo_client, caps, path, **rename)
    monkeypatch.setattr(restore, "FAULT_HOOK", None)
    with pytest.raises(backup.BackupError, match="recover: true"):
        make_backup(mongo_client, caps, other_db, Path(path).parent / "refused")

    preview = do_restore(mongo_client, caps, path, check_mode=True, **rename)
    assert [r["action"] for r in preview["recovered"]] == ["would_roll_forward"]

    result = do_restore(mongo_client, caps, path, **rename)
    assert [r["action"] for r in result["recovered"]] == ["rolled_forward"]
    assert {c["action"] for c in result["collections"]} == {"unchanged"}
    assert raw_docs(mongo_client[other_db].users) == sorted(new["users"])
    assert reserved_collections(mongo_client, other_db) == []


def test_a_restore_recovers_the_interrupted_runs_of_its_own_databases_only(
    mongo_client, caps, fresh_db_name, tmp_path, monkeypatch
):
    """A run killed after its commit, across two databases, is finished by the next restore
    into either of them (both databases: the run's journal names them); a restore into an
    unrelated database leaves it alone."""
    a, b, a2, b2, other = (f"{fresh_db_name}_{x}" for x in ("a", "b", "a2", "b2", "other"))
    try:
        for dbname in (a, b, other):
            insert_raw(mongo_client[dbname].users, [bson.encode({"_id": 1, "db": dbname})])
        both = backup.run_backup(mongo_client, str(tmp_path / "both"), databases=[a, b])["path"]
        only_b = make_backup(mongo_client, caps, b, tmp_path / "b")["path"]
        unrelated = make_backup(mongo_client, caps, other, tmp_path / "other")["path"]

        def hook(name, info):
            if name == "committed":
                raise SimulatedKill(name)

        monkeypatch.setattr(restore, "FAULT_HOOK", hook)
        with pytest.raises(SimulatedKill):
            do_restore(
                mongo_client, caps, both, ns_from=[f"{a}.*", f"{b}.*"], ns_to=[f"{a2}.*", f"{b2}.*"]
            )
        monkeypatch.setattr(restore, "FAULT_HOOK", None)
        assert sorted(restore.pending_journals(mongo_client, [a2, b2])) == [a2, b2]

        elsewhere = do_restore(
            mongo_client, caps, unrelated, ns_from=[f"{other}.*"], ns_to=[f"{other}_copy.*"]
        )
        assert elsewhere["recovered"] == []
        assert sorted(restore.pending_journals(mongo_client, [a2, b2])) == [a2, b2]

        result = do_restore(mongo_client, caps, only_b, ns_from=[f"{b}.*"], ns_to=[f"{b2}.*"])
        assert sorted((r["database"], r["action"]) for r in result["recovered"]) == [
            (a2, "rolled_forward"),
            (b2, "rolled_forward"),
        ]
        assert restore.pending_journals(mongo_client, [a2, b2]) == {}
        assert raw_docs(mongo_client[a2].users) == [bson.encode({"_id": 1, "db": a})]
        assert reserved_collections(mongo_client, a2, b2) == []
    finally:
        for dbname in (a, b, a2, b2, other, f"{other}_copy"):
            mongo_client.drop_database(dbname)


# --- through Ansible ----------------------------------------------------------------------------

PLAYBOOK = textwrap.dedent(
    """\
    - name: Back up and restore like db-backup.yml and db-restore.yml.
      hosts: localhost
      gather_facts: false
      tasks:
        - name: Back up the source database into the daily directory.
          vhvcorp.devtools.mongodb_backup:
            uri: "{{ uri }}"
            databases: ["{{ source }}"]
            dest: "{{ root }}/daily"
          register: made

        - name: Preview the restore into another database.
          vhvcorp.devtools.mongodb_restore:
            uri: "{{ uri }}"
            src: "{{ made.path }}"
            ns_from: "{{ source }}.*"
            ns_to: "{{ target }}.*"
          check_mode: true
          register: preview

        - name: Restore it.
          vhvcorp.devtools.mongodb_restore:
            uri: "{{ uri }}"
            src: "{{ made.path }}"
            ns_from: "{{ source }}.*"
            ns_to: "{{ target }}.*"
          register: restored

        - name: Restore it again.
          vhvcorp.devtools.mongodb_restore:
            uri: "{{ uri }}"
            src: "{{ made.path }}"
            ns_from: "{{ source }}.*"
            ns_to: "{{ target }}.*"
          register: again

        - name: Keep the generations.
          vhvcorp.devtools.mongodb_backup_retention:
            path: "{{ root }}"
          register: kept

        - name: A damaged backup.
          block:
            - name: Try to restore it.
              vhvcorp.devtools.mongodb_restore:
                uri: "{{ uri }}"
                src: "{{ damaged }}"
          rescue:
            - name: It was refused, saying why and what to do.
              ansible.builtin.assert:
                that:
                  - ansible_failed_result.msg is search('truncated')
                  - ansible_failed_result.msg is search('restore another backup')

        - name: Everything as expected.
          ansible.builtin.assert:
            that:
              - made is changed
              - made.documents == 25
              - made.collections | map(attribute='collection') | list == ['tenants', 'users']
              - preview is changed
              - preview.collections | map(attribute='action') | unique | list == ['create']
              - restored is changed
              - restored.collections | map(attribute='action') | unique | list == ['created']
              - restored.swap_method == 'journaled'
              - again is not changed
              - again.collections | map(attribute='action') | unique | list == ['unchanged']
              - kept.newest == made.path
              - kept.kept.weekly == [made.path | basename]
              - kept.invalid == []
    """
)


def test_the_modules_through_ansible_playbook(
    ansible, tmp_path, ferretdb_uri, mongo_client, fresh_db_name, other_db
):
    insert_raw(mongo_client[fresh_db_name].users, [bson.encode({"_id": i}) for i in range(20)])
    insert_raw(mongo_client[fresh_db_name].tenants, [bson.encode({"_id": i}) for i in range(5)])
    caps = server_capabilities(mongo_client)
    whole = Path(make_backup(mongo_client, caps, fresh_db_name, tmp_path / "whole")["path"])
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(whole.read_bytes()[:-100])  # cut short, as by a full disk
    playbook = tmp_path / "db.yml"
    playbook.write_text(PLAYBOOK)
    variables = tmp_path / "vars.json"
    variables.write_text(
        json.dumps(
            {
                "uri": ferretdb_uri,
                "source": fresh_db_name,
                "target": other_db,
                "root": str(tmp_path / "backups"),
                "damaged": str(damaged),
            }
        )
    )
    result = ansible("ansible-playbook", playbook, "-e", f"@{variables}", timeout=240)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    assert "failed=0" in result.stdout and "rescued=1" in result.stdout, result.stdout[-2000:]
    for name in ("users", "tenants"):
        assert raw_docs(mongo_client[other_db][name]) == raw_docs(mongo_client[fresh_db_name][name])
    backups = tmp_path / "backups"
    assert sorted(p.name for p in (backups / "weekly").iterdir()) == [
        next((backups / "daily").glob("mongodb-*.tar.gz")).name
    ]
