"""The dump formats, without a server: what we write is what mongodump writes, what mongodump
writes (built here by its documented rules) is read, and damaged or hostile input is refused."""

import base64
import datetime
import gzip
import hashlib
import io
import json
import math
import os
import random
import struct
import tarfile
import time
import uuid

import bson
import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils import (
    _archive_bson,
    _archive_format,
    _archive_readers,
    _archive_write_backup,
    _archive_write_mongodump,
)
from bson.binary import Binary
from bson.code import Code
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.son import SON
from bson.timestamp import Timestamp

ArchiveError = _archive_format.ArchiveError
SERVER = {"version": "7.0.42", "flavor": "mongodb", "ferretdb_version": None}
CREATED = "2026-11-24T02:00:00Z"


# --- helpers ------------------------------------------------------------------------------------


def every_bson_type():
    """One document per BSON type pymongo writes, and one with all of them together."""
    values = {
        "double": 1.5,
        "negative_zero": -0.0,
        "nan": float("nan"),
        "infinity": float("inf"),
        "string": "héllo wörld ✓",
        "long_string": "x" * 100_000,
        "document": {"a": {"b": {"c": 1}}},
        "array": [1, "two", 3.0, None],
        "nested_arrays": [[1, 2], [[3]], []],
        "binary_generic": Binary(b"\x00\x01\xff", 0),
        "binary_function": Binary(b"f", 1),
        "binary_old": Binary(b"old", 2),
        "binary_uuid_old": Binary(b"0123456789abcdef", 3),
        "binary_uuid": Binary(uuid.UUID(int=42).bytes, 4),
        "binary_md5": Binary(hashlib.md5(b"x").digest(), 5),  # noqa: S324 - a BSON subtype
        "binary_encrypted": Binary(b"enc", 6),
        "binary_column": Binary(b"col", 7),
        "binary_sensitive": Binary(b"sens", 8),
        "binary_user": Binary(b"user", 0x80),
        "objectid": ObjectId("65f0c0ffee0123456789abcd"),
        "true": True,
        "false": False,
        "datetime": datetime.datetime(2026, 11, 24, 2, 0, 0, 123000),
        "null": None,
        "regex": Regex(r"^a.*z$", "imsx"),
        "code": Code("function () { return 1; }"),
        "code_with_scope": Code("function () { return x; }", {"x": 1}),
        "int32": 2_147_483_647,
        "timestamp": Timestamp(1_700_000_000, 7),
        "int64": Int64(2**62),
        "decimal128": Decimal128("1234.5678901234567890"),
        "min_key": MinKey(),
        "max_key": MaxKey(),
        "dbref": DBRef("users", ObjectId("65f0c0ffee0123456789abcd"), "go_dev"),
        "": "empty key",
        "$dollar": "dollar-prefixed key",
        "dotted.key": "dotted key",
        "ünïcode-kéy": "unicode key",
    }
    docs = [bson.encode(SON([("_id", i), (k, v)])) for i, (k, v) in enumerate(values.items())]
    docs.append(bson.encode(SON([("_id", "all")] + list(values.items()))))
    return docs


def crc64_reference(data):
    """CRC-64/XZ bit by bit: independent of the module's table-driven one."""
    crc = 0xFFFFFFFFFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xC96C5795D7870F42 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFFFFFFFFFF


def signed64(value):
    return value - (1 << 64) if value >= 1 << 63 else value


def write_backup(path, collections, level=6):
    with open(path, "wb") as out:
        writer = _archive_write_backup.TarballWriter(out, compresslevel=level, mtime=1_700_000_000)
        manifest = _archive_write_backup.write_backup(writer, collections, SERVER, CREATED)
    writer.verify_file(str(path))
    return manifest


def read_all(path):
    """{namespace: [raw documents]} read through open_source, and the inventory."""
    source = _archive_readers.open_source(str(path))
    inventory = source.scan()
    found = {c.namespace: [] for c in inventory.collections}
    for entry, chunk, offsets in source.iter_chunks(inventory.collections):
        ends = offsets[1:] + [len(chunk)]
        found[entry.namespace].extend(chunk[a:b] for a, b in zip(offsets, ends, strict=True))
    return inventory, found


def members(path):
    """[(TarInfo, bytes or None)] of a tarball."""
    out = []
    with tarfile.open(path) as tar:
        for info in tar.getmembers():
            data = tar.extractfile(info).read() if info.isreg() else None
            out.append((info, data))
    return out


def write_tar(path, entries, gz=True):
    """A tarball from [(TarInfo, bytes or None)]."""
    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)


def small_backup(tmp_path, name="backup.tar.gz"):
    docs = [bson.encode({"_id": i, "email": f"user{i}@example.com"}) for i in range(50)]
    path = tmp_path / name
    write_backup(
        path,
        [
            _archive_write_backup.BackupCollection(
                "go_dev",
                "users",
                [b"".join(docs[:20]), b"".join(docs[20:])],
                indexes=[SON([("v", 2), ("key", SON([("_id", 1)])), ("name", "_id_")])],
            )
        ],
    )
    return path, docs


# --- checksums and names ------------------------------------------------------------------------


def test_crc64_matches_the_standard_check_value_and_a_bitwise_reference():
    crc = _archive_format.Crc64()
    crc.update(b"123456789")
    assert crc.value == 0x995DC9BBDF1939FA  # CRC-64/XZ check value, as Go's crc64.ECMA
    data = os.urandom(5001)
    crc = _archive_format.Crc64()
    for start in range(0, len(data), 333):  # odd-sized pieces
        crc.update(data[start : start + 333])
    assert crc.value == crc64_reference(data)
    assert crc.signed == signed64(crc64_reference(data))


def test_collection_file_names_follow_mongodump():
    assert _archive_format.collection_file_base("users") == "users"
    assert _archive_format.collection_file_base("a b/c;d,e?f") == "a%20b%2Fc%3Bd%2Ce%3Ff"
    assert _archive_format.collection_file_base("keep$&+:=@-._~") == "keep$&+:=@-._~"
    assert _archive_format.collection_file_base("é") == "%C3%A9"
    long_name = "n" * 300
    digest = base64.urlsafe_b64encode(hashlib.sha1(long_name.encode()).digest())  # noqa: S324
    expected = "n" * 208 + "%24" + digest.decode().rstrip("=")
    assert _archive_format.collection_file_base(long_name) == expected
    assert len(expected) == 238


# --- round trips ------------------------------------------------------------------------------


def test_backup_round_trip_keeps_every_bson_type_byte_for_byte(tmp_path):
    docs = every_bson_type()
    path = tmp_path / "types.tar.gz"
    manifest = write_backup(
        path, [_archive_write_backup.BackupCollection("types", "all", [b"".join(docs)])]
    )
    assert manifest["collections"][0]["documents"] == len(docs)

    inventory, found = read_all(path)
    assert inventory.kind == "backup" and inventory.container == "tar.gz"
    assert found == {"types.all": docs}
    decoded = bson.decode(found["types.all"][-1])
    assert math.isnan(decoded["nan"])
    assert math.copysign(1.0, decoded["negative_zero"]) == -1.0
    assert isinstance(decoded["decimal128"], Decimal128)
    assert decoded["nested_arrays"] == [[1, 2], [[3]], []]


@pytest.mark.parametrize("writer_fast", [True, False], ids=["isal-writes", "zlib-writes"])
def test_isal_and_zlib_read_what_the_other_wrote(tmp_path, monkeypatch, writer_fast):
    """isal is optional on a target host: each backend must read the other's tarballs, and the
    standard library's tarfile must read both (so do gzip(1) and tar(1))."""
    assert _archive_format._igzip is not None, "isal is in requirements.txt; the venv lacks it"
    fast = _archive_format._igzip
    docs = every_bson_type()
    path = tmp_path / "types.tar.gz"
    monkeypatch.setattr(_archive_format, "_igzip", fast if writer_fast else None)
    write_backup(
        path, [_archive_write_backup.BackupCollection("types", "all", [b"".join(docs)])], level=1
    )
    monkeypatch.setattr(_archive_format, "_igzip", None if writer_fast else fast)
    assert read_all(path)[1] == {"types.all": docs}
    with tarfile.open(path, "r:gz") as tar:
        assert tar.extractfile("types/all.bson").read() == b"".join(docs)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_archive_round_trip_keeps_every_bson_type_byte_for_byte(tmp_path, gz):
    docs = every_bson_type()
    path = tmp_path / ("dump.archive.gz" if gz else "dump.archive")
    meta = _archive_format.metadata_json(
        "all", [SON([("v", 2), ("key", {"_id": 1}), ("name", "_id_")])]
    )
    with open(path, "wb") as raw:
        out = gzip.GzipFile(fileobj=raw, mode="wb") if gz else raw
        counts = _archive_write_mongodump.write_archive(
            out,
            [
                _archive_write_mongodump.ArchiveCollection(
                    "types", "all", meta, [docs[0], b"".join(docs[1:])]
                ),
                _archive_write_mongodump.ArchiveCollection("types", "empty", meta, []),
            ],
            server_version="7.0.42",
        )
        if gz:
            out.close()
    assert counts == {"types.all": len(docs), "types.empty": 0}

    inventory, found = read_all(path)
    assert inventory.container == ("archive.gz" if gz else "archive")
    assert inventory.server_version == "7.0.42"
    assert found == {"types.all": docs, "types.empty": []}
    assert [c.indexes[0]["name"] for c in inventory.collections] == ["_id_", "_id_"]

    # The EOF header carries the CRC-64 of the documents, as mongo-tools computes it.
    raw = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
    eof = bson.encode(
        SON(
            [
                ("db", "types"),
                ("collection", "all"),
                ("EOF", True),
                ("CRC", Int64(signed64(crc64_reference(b"".join(docs))))),
            ]
        )
    )
    assert eof + _archive_format.ARCHIVE_TERMINATOR in raw


# --- mongodump's own layouts, built here by their documented rules --------------------------

METADATA_USERS = (
    '{"options":{"capped":true,"size":{"$numberInt":"1048576"}},'
    '"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"},'
    '{"v":{"$numberInt":"2"},"key":{"email":{"$numberInt":"1"},"tenant_id":{"$numberInt":"-1"}},'
    '"name":"email_1_tenant_id_-1","unique":true}],'
    '"uuid":"0123456789abcdef0123456789abcdef","collectionName":"users","type":"collection"}'
)
METADATA_NOTES = (
    '{"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"}],'
    '"collectionName":"release notes","type":"collection"}'
)


def users_indexes():
    return [
        SON([("v", 2), ("key", SON([("_id", 1)])), ("name", "_id_")]),
        SON(
            [
                ("v", 2),
                ("key", SON([("email", 1), ("tenant_id", -1)])),
                ("name", "email_1_tenant_id_-1"),
                ("unique", True),
            ]
        ),
    ]


def test_unpacked_backup_matches_mongodump_layout_file_by_file(tmp_path):
    users = [bson.encode({"_id": ObjectId(), "email": f"a{i}@example.com"}) for i in range(30)]
    notes = [bson.encode({"_id": 1, "text": "ünïcode ✓"})]
    path = tmp_path / "mongodb-2026-11-24.tar.gz"
    write_backup(
        path,
        [
            _archive_write_backup.BackupCollection(
                "go_dev",
                "users",
                [b"".join(users[:10]), b"".join(users[10:])],
                indexes=users_indexes(),
                options=SON([("capped", True), ("size", 1048576)]),
                uuid="0123456789abcdef0123456789abcdef",
            ),
            _archive_write_backup.BackupCollection(
                "go_dev",
                "release notes",
                [notes[0]],
                indexes=[SON([("v", 2), ("key", SON([("_id", 1)])), ("name", "_id_")])],
            ),
        ],
    )
    out = tmp_path / "unpacked"
    with tarfile.open(path) as tar:
        tar.extractall(out, filter="data")

    # What mongodump --out writes for these collections (mongodump/metadata_dump.go,
    # prepare.go): <db>/<escaped name>.bson and .metadata.json, and prelude.json.
    expected = {
        "prelude.json": b'{"ServerVersion":"7.0.42","ToolVersion":"vhvcorp.devtools 1.0.0"}',
        "go_dev/users.bson": b"".join(users),
        "go_dev/users.metadata.json": METADATA_USERS.encode(),
        "go_dev/release%20notes.bson": notes[0],
        "go_dev/release%20notes.metadata.json": METADATA_NOTES.encode(),
    }
    found = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    manifest = json.loads(found.pop("manifest.json"))  # ours, beside mongodump's files
    assert found == expected
    assert set(manifest["files"]) == set(expected)
    assert [c["documents"] for c in manifest["collections"]] == [30, 1]
    assert manifest["created"] == CREATED and manifest["server"]["version"] == "7.0.42"
    # Metadata keys in mongodump's order, with canonical extended JSON values.
    assert list(json.loads(METADATA_USERS)) == [
        "options",
        "indexes",
        "uuid",
        "collectionName",
        "type",
    ]


def build_dump_dir(root, gz):
    """A mongodump --out directory (with --gzip: every file gzipped, .gz appended)."""
    users = [bson.encode({"_id": i, "email": f"u{i}@example.com"}) for i in range(25)]
    notes = [bson.encode({"_id": 1, "text": "hi"})]

    def put(rel, data):
        if gz:
            rel, data = rel + ".gz", gzip.compress(data)
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    put("prelude.json", b'{"ServerVersion":"6.0.5","ToolVersion":"100.9.4"}')
    put("go_dev/users.bson", b"".join(users))
    put("go_dev/users.metadata.json", METADATA_USERS.encode())
    put("go_dev/release%20notes.bson", notes[0])
    put("go_dev/release%20notes.metadata.json", METADATA_NOTES.encode())
    put("go_dev/system.profile.bson", notes[0])
    put("oplog.bson", b"")
    return {"go_dev.users": users, "go_dev.release notes": notes}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_hand_built_dump_directory_is_read(tmp_path, gz):
    expected = build_dump_dir(tmp_path / "dump", gz)
    inventory, found = read_all(tmp_path / "dump")
    assert inventory.kind == "mongodump" and inventory.container == "directory"
    assert inventory.server_version == "6.0.5" and inventory.tool_version == "100.9.4"
    assert found == expected
    users = next(c for c in inventory.collections if c.name == "users")
    assert users.options == {"capped": True, "size": 1048576}
    assert [i["name"] for i in users.indexes] == ["_id_", "email_1_tenant_id_-1"]
    assert list(users.indexes[1]["key"]) == ["email", "tenant_id"]  # key order kept
    skipped = {s["path"]: s["reason"] for s in inventory.skipped}
    assert skipped["go_dev/system.profile.bson" + (".gz" if gz else "")] == "system collection"
    assert "oplog" in skipped["oplog.bson" + (".gz" if gz else "")]


@pytest.mark.parametrize("gz_files", [False, True], ids=["plain-files", "gzip-files"])
@pytest.mark.parametrize("gz_tar", [False, True], ids=["tar", "tar.gz"])
def test_tarball_of_a_dump_directory_is_read(tmp_path, gz_files, gz_tar):
    expected = build_dump_dir(tmp_path / "dump", gz_files)
    path = tmp_path / ("dump.tar.gz" if gz_tar else "dump.tar")
    with tarfile.open(path, "w:gz" if gz_tar else "w") as tar:
        tar.add(tmp_path / "dump", arcname="dump")  # as `tar czf dump.tar.gz dump/` does
    inventory, found = read_all(path)
    assert inventory.container == ("tar.gz" if gz_tar else "tar")
    assert found == expected


def build_archive(path, gz):
    """A mongodump --archive, byte by byte from common/archive/spec.md: interleaved
    segments (parallel collections), an empty collection, a view without data."""
    users = [bson.encode({"_id": i, "email": f"u{i}@example.com"}) for i in range(10)]
    tenants = [bson.encode({"_id": f"t{i}"}) for i in range(4)]

    def doc(*pairs):
        return bson.encode(SON(list(pairs)))

    def ns_header(coll, eof=False, crc=0):
        return doc(("db", "go_dev"), ("collection", coll), ("EOF", eof), ("CRC", Int64(crc)))

    out = bytearray(struct.pack("<I", 0x8199E26D))
    out += doc(
        ("concurrent_collections", 4),
        ("version", "0.1"),
        ("server_version", "7.0.2"),
        ("tool_version", "100.9.4"),
    )
    for coll, meta, kind in (
        ("users", METADATA_USERS.replace('"users"', '"users"'), "collection"),
        ("tenants", METADATA_NOTES.replace("release notes", "tenants"), "collection"),
        ("empty", METADATA_NOTES.replace("release notes", "empty"), "collection"),
        (
            "active_users",
            '{"options":{"viewOn":"users","pipeline":[]},"indexes":[],'
            '"collectionName":"active_users","type":"view"}',
            "view",
        ),
    ):
        out += doc(
            ("db", "go_dev"), ("collection", coll), ("metadata", meta), ("size", 0), ("type", kind)
        )
    out += b"\xff\xff\xff\xff"
    out += ns_header("users") + b"".join(users[:4]) + b"\xff\xff\xff\xff"
    out += ns_header("tenants") + b"".join(tenants[:2]) + b"\xff\xff\xff\xff"
    out += ns_header("users") + b"".join(users[4:]) + b"\xff\xff\xff\xff"
    out += ns_header("empty") + b"\xff\xff\xff\xff"
    out += ns_header("empty", True, signed64(crc64_reference(b""))) + b"\xff\xff\xff\xff"
    out += ns_header("tenants") + b"".join(tenants[2:]) + b"\xff\xff\xff\xff"
    out += ns_header("users", True, signed64(crc64_reference(b"".join(users))))
    out += b"\xff\xff\xff\xff"
    out += ns_header("tenants", True, signed64(crc64_reference(b"".join(tenants))))
    out += b"\xff\xff\xff\xff"
    data = bytes(out)
    path.write_bytes(gzip.compress(data) if gz else data)
    return {"go_dev.users": users, "go_dev.tenants": tenants, "go_dev.empty": []}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_hand_built_archive_is_read(tmp_path, gz):
    path = tmp_path / ("go_dev.archive.gz" if gz else "go_dev.archive")
    expected = build_archive(path, gz)
    inventory, found = read_all(path)
    assert found == expected
    assert inventory.tool_version == "100.9.4"
    assert inventory.skipped == [{"path": "go_dev.active_users", "reason": "view is not supported"}]
    users = next(c for c in inventory.collections if c.name == "users")
    assert users.documents == 10 and users.options["capped"] is True


def test_every_reader_skips_the_same_collections_for_the_same_reasons(tmp_path):
    """The oplog, system collections, the local database and views, in a dump directory and
    in an --archive of the same collections: the same ones are skipped, saying the same."""
    doc = bson.encode({"_id": 1})
    view = (
        '{"options":{"viewOn":"users","pipeline":[]},"indexes":[],'
        '"collectionName":"active_users","type":"view"}'
    )
    dump = tmp_path / "dump"
    files = {
        "oplog.bson": doc,
        "go_dev/users.bson": doc,
        "go_dev/users.metadata.json": METADATA_USERS.encode(),
        "go_dev/system.profile.bson": doc,
        "local/startup_log.bson": doc,
        "go_dev/active_users.metadata.json": view.encode(),
    }
    for rel, data in files.items():
        (dump / rel).parent.mkdir(parents=True, exist_ok=True)
        (dump / rel).write_bytes(data)
    path = tmp_path / "dump.archive"
    with open(path, "wb") as out:
        _archive_write_mongodump.write_archive(
            out,
            [
                _archive_write_mongodump.ArchiveCollection("", "oplog", "", [doc]),
                _archive_write_mongodump.ArchiveCollection(
                    "go_dev", "users", METADATA_USERS, [doc]
                ),
                _archive_write_mongodump.ArchiveCollection("go_dev", "system.profile", "", [doc]),
                _archive_write_mongodump.ArchiveCollection("local", "startup_log", "", [doc]),
                _archive_write_mongodump.ArchiveCollection(
                    "go_dev", "active_users", view, [], "view"
                ),
            ],
        )
    reasons = {}
    for source in (dump, path):
        inventory = _archive_readers.open_source(str(source)).scan()
        assert [c.namespace for c in inventory.collections] == ["go_dev.users"]
        reasons[source.name] = sorted(s["reason"] for s in inventory.skipped)
    assert (
        reasons["dump"]
        == reasons["dump.archive"]
        == [
            "oplog replay is not supported",
            "system collection",
            "the local database is not restored",
            "view is not supported",
        ]
    )


# --- refusals -----------------------------------------------------------------------------------


def test_truncated_backup_is_refused(tmp_path):
    path, _ = small_backup(tmp_path)
    data = path.read_bytes()
    for cut in (len(data) // 3, len(data) // 2, len(data) - 30):
        damaged = tmp_path / (f"cut-{cut}.tar.gz")
        damaged.write_bytes(data[:cut])
        with pytest.raises(ArchiveError, match="truncated|damaged"):
            _archive_readers.open_source(str(damaged)).scan()


def test_flipped_byte_is_refused(tmp_path):
    path, _ = small_backup(tmp_path)
    data = bytearray(path.read_bytes())
    refused = 0
    for position in range(40, len(data) - 8, max(1, len(data) // 25)):
        damaged = bytearray(data)
        damaged[position] ^= 0x01
        target = tmp_path / "flipped.tar.gz"
        target.write_bytes(bytes(damaged))
        with pytest.raises(ArchiveError):
            _archive_readers.open_source(str(target)).scan()
        refused += 1
    assert refused >= 20


def test_verify_file_catches_bytes_changed_on_disk_after_writing(tmp_path):
    """The writer's read-back check: any byte of the file differing from what it wrote
    (header members written over in place included) fails it, with what to do."""
    docs = [bson.encode({"_id": i, "body": "x" * 300}) for i in range(200)]
    path = tmp_path / "backup.tar.gz"
    with open(path, "wb") as out:
        writer = _archive_write_backup.TarballWriter(out, compresslevel=1, mtime=1_700_000_000)
        _archive_write_backup.write_backup(
            writer,
            [_archive_write_backup.BackupCollection("go_dev", "users", [b"".join(docs)])],
            SERVER,
            CREATED,
        )
    writer.verify_file(str(path))
    data = path.read_bytes()
    for position in range(0, len(data), max(1, len(data) // 40)):
        damaged = bytearray(data)
        damaged[position] ^= 0x40
        path.write_bytes(bytes(damaged))
        with pytest.raises(ArchiveError, match="reads back differently.*choose another `dest`"):
            writer.verify_file(str(path))
    path.write_bytes(data[:-1])
    with pytest.raises(ArchiveError, match="after writing, not"):
        writer.verify_file(str(path))


def test_flipped_byte_inside_a_member_fails_its_checksum(tmp_path):
    path, _ = small_backup(tmp_path)
    entries = members(path)
    for info, data in entries:
        if info.name == "go_dev/users.bson":
            index = entries.index((info, data))
            changed = bytearray(data)
            changed[100] ^= 0x20  # still valid BSON framing: only the checksum can tell
            entries[index] = (info, bytes(changed))
    damaged = tmp_path / "member.tar.gz"
    write_tar(damaged, entries)
    with pytest.raises(ArchiveError, match="does not match its checksum in the manifest"):
        _archive_readers.open_source(str(damaged)).scan()


def test_member_missing_from_the_manifest_is_refused(tmp_path):
    path, _ = small_backup(tmp_path)
    entries = members(path)
    rewritten = []
    for info, data in entries:
        if info.name == "manifest.json":
            manifest = json.loads(data)
            del manifest["files"]["go_dev/users.metadata.json"]
            data = json.dumps(manifest).encode()
        rewritten.append((info, data))
    damaged = tmp_path / "unlisted.tar.gz"
    write_tar(damaged, rewritten)
    with pytest.raises(ArchiveError, match="which its manifest does not list"):
        _archive_readers.open_source(str(damaged)).scan()


def test_file_listed_in_the_manifest_but_absent_is_refused(tmp_path):
    path, _ = small_backup(tmp_path)
    entries = [(i, d) for i, d in members(path) if i.name != "go_dev/users.metadata.json"]
    damaged = tmp_path / "absent.tar.gz"
    write_tar(damaged, entries)
    with pytest.raises(ArchiveError, match="which its manifest lists"):
        _archive_readers.open_source(str(damaged)).scan()


def test_our_backup_without_its_manifest_is_refused(tmp_path):
    path, _ = small_backup(tmp_path)
    entries = [(i, d) for i, d in members(path) if i.name != "manifest.json"]
    damaged = tmp_path / "nomanifest.tar.gz"
    write_tar(damaged, entries)
    with pytest.raises(ArchiveError, match="manifest.json is missing"):
        _archive_readers.open_source(str(damaged)).scan()


def hostile(tmp_path, info, data=None):
    """A valid mongodump tarball with one extra member."""
    build_dump_dir(tmp_path / "dump", gz=False)
    path = tmp_path / "hostile.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(tmp_path / "dump", arcname="dump")
        if data is not None:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        else:
            tar.addfile(info)
    return path


@pytest.mark.parametrize(
    "name", ["dump/../../evil.bson", "../go_dev/users.bson", "dump/go_dev/../../../x"]
)
def test_member_escaping_the_directory_is_refused(tmp_path, name):
    path = hostile(tmp_path, tarfile.TarInfo(name), b"\x05\x00\x00\x00\x00")
    with pytest.raises(ArchiveError, match="would escape the directory"):
        _archive_readers.open_source(str(path)).scan()


@pytest.mark.parametrize("name", ["/etc/cron.d/evil", "/dump/go_dev/users.bson"])
def test_absolute_member_is_refused(tmp_path, name):
    path = hostile(tmp_path, tarfile.TarInfo(name), b"\x05\x00\x00\x00\x00")
    with pytest.raises(ArchiveError, match="absolute path"):
        _archive_readers.open_source(str(path)).scan()


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE], ids=["symlink", "hardlink"])
def test_link_member_is_refused(tmp_path, kind):
    info = tarfile.TarInfo("dump/go_dev/link.bson")
    info.type = kind
    info.linkname = "/etc/passwd" if kind == tarfile.SYMTYPE else "dump/go_dev/users.bson"
    path = hostile(tmp_path, info)
    with pytest.raises(ArchiveError, match="link member"):
        _archive_readers.open_source(str(path)).scan()


def test_device_member_is_refused(tmp_path):
    info = tarfile.TarInfo("dump/go_dev/dev.bson")
    info.type = tarfile.CHRTYPE
    path = hostile(tmp_path, info)
    with pytest.raises(ArchiveError, match="not a regular file"):
        _archive_readers.open_source(str(path)).scan()


def test_symlink_in_a_dump_directory_is_refused(tmp_path):
    build_dump_dir(tmp_path / "dump", gz=False)
    (tmp_path / "dump" / "go_dev" / "evil.bson").symlink_to("/etc/passwd")
    with pytest.raises(ArchiveError, match="symbolic link"):
        _archive_readers.open_source(str(tmp_path / "dump")).scan()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xff\xff\xff\x7f" + b"\x00" * 10, "declares a length"),
        (b"\x06\x00\x00\x00\x00\x01", "does not end with its NUL byte"),
        (bson.encode({"a": 1}) + b"\x10\x00\x00", "truncated"),
        (bson.encode({"a": 1})[:-3], "truncated"),
    ],
    ids=["length", "nul", "trailing-bytes", "cut-document"],
)
def test_bad_bson_framing_is_refused(tmp_path, content, message):
    build_dump_dir(tmp_path / "dump", gz=False)
    (tmp_path / "dump" / "go_dev" / "users.bson").write_bytes(content)
    with pytest.raises(ArchiveError, match=message):
        _archive_readers.open_source(str(tmp_path / "dump")).scan()


def test_truncated_archive_is_refused(tmp_path):
    path = tmp_path / "go_dev.archive"
    build_archive(path, gz=False)
    data = path.read_bytes()
    for cut in (3, 60, len(data) // 2, len(data) - 4):
        target = tmp_path / "cut.archive"
        target.write_bytes(data[:cut])
        with pytest.raises(ArchiveError, match="truncated|magic number"):
            _archive_readers.open_source(str(path.parent / "cut.archive")).scan()


def test_archive_with_a_flipped_document_byte_fails_its_crc(tmp_path):
    path = tmp_path / "go_dev.archive"
    build_archive(path, gz=False)
    data = bytearray(path.read_bytes())
    position = data.index(b"u3@example.com")
    data[position] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="CRC-64 of go_dev.users"):
        _archive_readers.open_source(str(path)).scan()


def test_unrecognised_file_is_refused_with_what_to_give(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a dump")
    with pytest.raises(ArchiveError, match="neither a tar nor a mongodump --archive"):
        _archive_readers.open_source(str(path))
    with pytest.raises(ArchiveError, match="does not exist"):
        _archive_readers.open_source(str(tmp_path / "missing.tar.gz"))


def test_input_changed_after_verification_is_caught_before_the_end(tmp_path):
    expected = build_dump_dir(tmp_path / "dump", gz=False)
    source = _archive_readers.open_source(str(tmp_path / "dump"))
    inventory = source.scan()
    users = tmp_path / "dump" / "go_dev" / "users.bson"
    users.write_bytes(b"".join(expected["go_dev.users"][:-1]))  # one document fewer
    with pytest.raises(ArchiveError, match="changed since it was verified"):
        for _ in source.iter_chunks(inventory.collections):
            pass


# --- the end of the input -----------------------------------------------------------------------

# What was appended in the defect report: 4 KB of random bytes (the first one not zero, so the
# count is exact: zero bytes after a tar's end are its padding).
JUNK = b"\xa5" + random.Random(4096).randbytes(4095)  # noqa: S311 - test data


def dump_tar(tmp_path, gz):
    build_dump_dir(tmp_path / "dump", gz=False)
    path = tmp_path / ("dump.tar.gz" if gz else "dump.tar")
    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        tar.add(tmp_path / "dump", arcname="dump")
    return path


def dump_archive(tmp_path, gz):
    path = tmp_path / ("go_dev.archive.gz" if gz else "go_dev.archive")
    build_archive(path, gz)
    return path


def our_backup(tmp_path, gz=True):
    return small_backup(tmp_path)[0]


INPUTS = {
    "backup.tar.gz": our_backup,
    "dump.tar": lambda tmp_path: dump_tar(tmp_path, gz=False),
    "dump.tar.gz": lambda tmp_path: dump_tar(tmp_path, gz=True),
    "archive": lambda tmp_path: dump_archive(tmp_path, gz=False),
    "archive.gz": lambda tmp_path: dump_archive(tmp_path, gz=True),
}


def inner_bytes(path):
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


@pytest.mark.parametrize("kind", sorted(INPUTS))
def test_bytes_appended_after_the_end_are_refused_with_their_count(tmp_path, kind):
    path = INPUTS[kind](tmp_path)
    _archive_readers.open_source(str(path)).scan()  # the input as made is good
    path.write_bytes(path.read_bytes() + JUNK)
    end = path.stat().st_size - len(JUNK)
    with pytest.raises(ArchiveError) as caught:
        _archive_readers.open_source(str(path)).scan()
    message = str(caught.value)
    assert "4096 bytes after the end of" in message, message
    assert f"truncate -s {end} " in message, message


@pytest.mark.parametrize("kind", ["backup.tar.gz", "dump.tar.gz", "archive.gz"])
def test_bytes_after_the_end_inside_the_gzip_data_are_refused(tmp_path, kind):
    """`cat good junk | gzip`, and a good gzip file with a gzip member of junk appended."""
    path = INPUTS[kind](tmp_path)
    inner = inner_bytes(path)
    for name, data in (
        ("joined", gzip.compress(inner + JUNK)),
        ("member", path.read_bytes() + gzip.compress(JUNK)),
    ):
        joined = tmp_path / (name + "-" + path.name)
        joined.write_bytes(data)
        with pytest.raises(ArchiveError, match="4096 bytes after the end of its (tar|mongodump)"):
            _archive_readers.open_source(str(joined)).scan()


@pytest.mark.parametrize("kind", sorted(INPUTS))
def test_bytes_after_the_end_are_refused_in_the_restore_pass_too(tmp_path, kind):
    """A file that grows between the verification and the restore's read is caught too."""
    path = INPUTS[kind](tmp_path)
    source = _archive_readers.open_source(str(path))
    inventory = source.scan()
    path.write_bytes(path.read_bytes() + JUNK)
    with pytest.raises(ArchiveError, match="4096 bytes after the end of"):
        for _ in source.iter_chunks(inventory.collections):
            pass


@pytest.mark.parametrize("gz", [False, True], ids=["tar", "tar.gz"])
def test_tar_padding_and_split_gzip_members_are_accepted(tmp_path, gz):
    """What tar writers legitimately leave after the end: zero padding to the record size
    (GNU tar's -b 2048 pads to 1 MiB), gzip streams in several members, zero bytes after the
    gzip data (gzip and Python skip them)."""
    expected = build_dump_dir(tmp_path / "dump", gz=False)
    plain = tmp_path / "dump.tar"
    with tarfile.open(plain, "w") as tar:
        tar.add(tmp_path / "dump", arcname="dump")
    data = plain.read_bytes()
    assert len(data) % tarfile.RECORDSIZE == 0 and data[-1024:] == bytes(1024)
    padded = data + bytes(-len(data) % (2048 * 512))
    variants = {"padded": padded}
    if gz:
        half = len(padded) // 2
        variants = {
            "padded": gzip.compress(padded),
            "members": gzip.compress(padded[:half]) + gzip.compress(padded[half:]),
            "empty-member": gzip.compress(padded) + gzip.compress(b""),
            "zeros-after-gzip": gzip.compress(padded) + bytes(512),
        }
    for name, content in variants.items():
        path = tmp_path / (name + (".tar.gz" if gz else ".tar"))
        path.write_bytes(content)
        _, found = read_all(path)
        assert found == expected, name


@pytest.mark.parametrize("blocks", [0, 1], ids=["no-marker", "one-zero-block"])
def test_tar_without_its_end_of_archive_marker_is_refused_as_truncated(tmp_path, blocks):
    """Cut at a member's end, a tar reads as a smaller whole one: the two zero blocks that
    end every tar are what says it is complete."""
    plain = dump_tar(tmp_path, gz=False)
    data = plain.read_bytes()
    end = len(data.rstrip(b"\0"))
    end += -end % 512  # the last member's data ends in a whole block
    plain.write_bytes(data[: end + blocks * 512])
    with pytest.raises(ArchiveError, match="end-of-archive marker"):
        _archive_readers.open_source(str(plain)).scan()


def test_archive_accepts_nothing_after_its_end_not_even_zero_bytes(tmp_path):
    """mongodump writes nothing after the last collection's end, and mongorestore reads
    what follows as a block header: zero bytes too are refused."""
    path = dump_archive(tmp_path, gz=False)
    path.write_bytes(path.read_bytes() + bytes(16))
    with pytest.raises(ArchiveError, match="16 bytes after the end of its mongodump archive"):
        _archive_readers.open_source(str(path)).scan()


# --- reading ahead of the inserts ---------------------------------------------------------------


def made_and_taken(sizes, ahead, consumer_delay=0.01):
    """Run prefetch over items of these sizes; the most items made but not yet done with, seen
    while the consumer holds one."""
    made = []

    def items():
        for n, size in enumerate(sizes):
            made.append(n)
            yield n, size

    most = 0
    taken = []
    for n, _ in _archive_bson.prefetch(items(), size=lambda item: item[1], ahead=ahead):
        time.sleep(consumer_delay)  # the consumer is the slower side, as the server is
        most = max(most, len(made) - len(taken))
        taken.append(n)
    assert taken == list(range(len(sizes)))
    return most


def test_prefetch_reads_ahead_by_bytes_not_by_items():
    # Two 8 MiB chunks fit in 20 MiB, a third does not: the one held and two waiting.
    assert made_and_taken([8 << 20] * 10, ahead=20 << 20) == 3
    # Small items: as many as fit.
    assert made_and_taken([1 << 20] * 30, ahead=20 << 20) == 21
    # An item larger than the bound still passes, one waiting at a time.
    assert made_and_taken([64 << 20] * 3, ahead=20 << 20) == 2


def test_prefetch_hands_on_errors_and_stops_when_the_consumer_does():
    def failing():
        yield b"x"
        raise ArchiveError("broken")

    with pytest.raises(ArchiveError, match="broken"):
        for _ in _archive_bson.prefetch(failing(), size=len, ahead=10):
            pass

    closed = []

    def endless():
        try:
            while True:
                yield b"y" * 4
        finally:
            closed.append(True)

    stream = _archive_bson.prefetch(endless(), size=len, ahead=10)
    assert next(stream) == b"yyyy"
    stream.close()
    assert closed == [True]
