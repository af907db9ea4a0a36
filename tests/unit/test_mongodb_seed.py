"""Fixture and index parsing (plugins/module_utils/mongodb_seed.py), and the shipped data."""

import datetime
import re
from pathlib import Path

import bson
import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils import mongodb_reset, mongodb_seed
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb_seed import FixtureError
from bson import Decimal128, MaxKey, MinKey, ObjectId
from bson.code import Code

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "roles" / "database" / "files" / "fixtures"
UTC = datetime.UTC


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


# --- documents ------------------------------------------------------------------------------


def test_extended_json_in_canonical_and_relaxed_forms(tmp_path):
    path = write(
        tmp_path / "audit_logs.json",
        """[
          {"_id": {"$oid": "65a50a0000000000000a0001"},
           "at": {"$date": "2024-01-15T10:00:00Z"},
           "big": {"$numberLong": "9007199254740993"},
           "n": 3, "ratio": 0.5, "tags": ["a", "b"]},
          {"_id": {"$oid": "65a50a0000000000000a0002"},
           "at": {"$date": {"$numberLong": "1705312800000"}}}
        ]""",
    )
    first, second = mongodb_seed.read_documents(path)
    assert first["_id"] == ObjectId("65a50a0000000000000a0001")
    assert first["at"] == datetime.datetime(2024, 1, 15, 10, 0, tzinfo=UTC)
    assert first["big"] == 9007199254740993 and isinstance(first["big"], int)
    assert (first["n"], first["ratio"], first["tags"]) == (3, 0.5, ["a", "b"])
    assert second["at"] == datetime.datetime(2024, 1, 15, 10, 0, tzinfo=UTC)


def test_yaml_dates_and_extended_json_wrappers(tmp_path):
    path = write(
        tmp_path / "users.yml",
        """
        - _id: {$oid: 65a50a0000000000000a0009}
          created_at: 2024-01-15T10:00:00Z
          birthday: 1990-05-17
          owner: {$oid: 65a50a0000000000000a0001}
          nested: {roles: [admin], since: {$date: "2024-02-01T00:00:00Z"}}
        - _id: user-2
          email: b@example.com
        """.replace("\n        ", "\n"),
    )
    first, second = mongodb_seed.read_documents(path)
    assert first["_id"] == ObjectId("65a50a0000000000000a0009")
    assert first["owner"] == ObjectId("65a50a0000000000000a0001")
    assert first["created_at"] == datetime.datetime(2024, 1, 15, 10, 0, tzinfo=UTC)
    # A YAML date becomes midnight UTC: BSON has no date-only type.
    assert first["birthday"] == datetime.datetime(1990, 5, 17, tzinfo=UTC)
    assert first["nested"]["since"] == datetime.datetime(2024, 2, 1, tzinfo=UTC)
    assert second == {"_id": "user-2", "email": "b@example.com"}


def test_empty_file_is_no_documents(tmp_path):
    assert mongodb_seed.read_documents(write(tmp_path / "sessions.yml", "---\n")) == []


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("users.yml", "- email: a@example.com\n", "document #1 has no _id"),
        (
            "users.yml",
            "- _id: u1\n- _id: u2\n- _id: u1\n",
            'document #3 repeats _id "u1" of document #1',
        ),
        ("users.yml", "_id: u1\n", "holds a dict, not a list of documents"),
        ("users.yml", "- just a string\n", "document #1 is a str, not a document"),
        ("users.yml", "- _id: u1\n  when: {$dat: 2024-01-01}\n", "has the field 'when.$dat'"),
        ("users.json", '[{"_id": 1,}]', "is not valid Extended JSON"),
        ("users.yml", "- _id: [unclosed\n", "is not valid YAML"),
    ],
)
def test_bad_fixture_files_are_named_with_a_fix(tmp_path, name, text, fragment):
    path = write(tmp_path / name, text)
    with pytest.raises(FixtureError) as caught:
        mongodb_seed.read_documents(path)
    assert str(caught.value).startswith(path)
    assert fragment in str(caught.value)


def test_a_collection_with_two_data_files_is_refused(tmp_path):
    write(tmp_path / "users.yml", "- _id: a\n")
    write(tmp_path / "users.json", '[{"_id": "b"}]')
    with pytest.raises(FixtureError, match="both hold documents for collection 'users'"):
        mongodb_seed.load_fixtures(str(tmp_path))


def test_file_names_must_be_plain_collection_names(tmp_path):
    write(tmp_path / "app.users.yml", "- _id: a\n")
    with pytest.raises(FixtureError, match="'app.users' is not a collection name"):
        mongodb_seed.load_fixtures(str(tmp_path))


def test_src_must_be_a_directory_with_fixtures(tmp_path):
    with pytest.raises(
        FixtureError, match=r"Option `src` is '/nonexistent', which is not a directory"
    ):
        mongodb_seed.load_fixtures("/nonexistent")
    write(tmp_path / "README.md", "nothing here")
    with pytest.raises(FixtureError, match="holds no fixture files"):
        mongodb_seed.load_fixtures(str(tmp_path))


def test_select_collections_names_the_unknown_ones(tmp_path):
    write(tmp_path / "users.yml", "- _id: a\n")
    write(tmp_path / "tenants.yml", "- _id: t\n")
    fixtures = mongodb_seed.load_fixtures(str(tmp_path))
    assert [f["name"] for f in mongodb_seed.select_collections(fixtures, ["users"])] == ["users"]
    with pytest.raises(FixtureError, match=r"Option `collections` names 'nope', which has no file"):
        mongodb_seed.select_collections(fixtures, ["users", "nope"])


# --- indexes --------------------------------------------------------------------------------


def test_index_declarations_in_every_key_form(tmp_path):
    path = write(
        tmp_path / "users.indexes.yml",
        """
- keys: {email: 1}
  unique: true
- keys: [{tenant_id: 1}, {status: 1}]
- keys: [[created_at, -1]]
  name: newest_first
- keys: {expires_at: 1}
  expire_after_seconds: 0
  sparse: true
""",
    )
    specs = mongodb_seed.read_indexes(path)
    assert specs[0] == {"keys": [("email", 1)], "unique": True, "sparse": False}
    assert specs[1]["keys"] == [("tenant_id", 1), ("status", 1)]
    assert specs[2]["name"] == "newest_first"
    assert specs[3]["expire_after_seconds"] == 0 and specs[3]["sparse"] is True
    assert [mongodb_seed.index_name(s) for s in specs] == [
        "email_1",
        "tenant_id_1_status_1",
        "newest_first",
        "expires_at_1",
    ]


@pytest.mark.parametrize(
    ("declaration", "fragment"),
    [
        ("- keys: {email: up}\n", "direction 'up' of field 'email' is not 1 or -1"),
        ("- keys: {}\n", "is not a list of fields with directions"),
        ("- keys: {email: 1}\n  uniqe: true\n", "unknown option(s) uniqe"),
        ("- unique: true\n", "must be a mapping with 'keys'"),
        ("- keys: {email: true}\n", "direction True"),
        ("keys: {email: 1}\n", "make it a list of indexes"),
        ("- keys: {a: 1}\n  expire_after_seconds: -5\n", "expire_after_seconds -5"),
    ],
)
def test_bad_index_declarations(tmp_path, declaration, fragment):
    path = write(tmp_path / "users.indexes.yml", declaration)
    with pytest.raises(FixtureError) as caught:
        mongodb_seed.read_indexes(path)
    assert path in str(caught.value)
    assert fragment in str(caught.value)


# --- comparing ------------------------------------------------------------------------------


def test_documents_compare_by_value_and_type_not_key_order():
    same = mongodb_seed.same_document
    assert same(
        {"_id": 1, "a": 1, "b": {"x": 1, "y": 2}}, {"b": {"y": 2, "x": 1}, "a": 1, "_id": 1}
    )
    assert not same({"_id": 1, "n": 1}, {"_id": 1, "n": 1.0})
    assert not same({"_id": 1, "n": 1}, {"_id": 1, "n": True})
    assert not same({"_id": 1, "tags": ["a", "b"]}, {"_id": 1, "tags": ["b", "a"]})
    assert not same({"_id": 1}, {"_id": 1, "extra": None})


def test_normalise_is_what_the_server_gives_back():
    fixture = {
        "_id": 1,
        "at": datetime.datetime(2024, 1, 15, 10, 0, 0, 123456, tzinfo=UTC),
        "t": (1, 2),
    }
    stored = {"_id": 1, "at": datetime.datetime(2024, 1, 15, 10, 0, 0, 123000), "t": [1, 2]}
    assert mongodb_seed.same_document(mongodb_seed.normalise(fixture), stored)


def test_ferretdb_incompatibilities_are_found_with_their_path():
    doc = {
        "_id": 1,
        "price": Decimal128("9.99"),
        "grid": [[1, 2], [3]],
        "score": float("nan"),
        "low": MinKey(),
        "high": MaxKey(),
        "nested": {"fn": Code("function() {}")},
        "fine": [1, {"a": [2]}],
    }
    found = dict(mongodb_seed.ferretdb_incompatibilities(doc))
    assert found == {
        "price": "a Decimal128",
        "grid.0": "an array nested in an array",
        "grid.1": "an array nested in an array",
        "score": "NaN",
        "low": "MinKey",
        "high": "MaxKey",
        "nested.fn": "JavaScript code",
    }


def test_check_server_support_names_file_document_and_field(tmp_path):
    write(tmp_path / "prices.json", '[{"_id": "p1", "amount": {"$numberDecimal": "9.99"}}]')
    fixtures = mongodb_seed.load_fixtures(str(tmp_path))
    with pytest.raises(FixtureError) as caught:
        mongodb_seed.check_server_support(fixtures, {"rich_bson_types": False})
    msg = str(caught.value)
    assert "Collection 'prices' document #1" in msg and "a Decimal128 at 'amount'" in msg
    assert str(tmp_path / "prices.json") in msg
    mongodb_seed.check_server_support(fixtures, {"rich_bson_types": True})  # MongoDB: fine


# --- the shipped fixtures -------------------------------------------------------------------


def shipped():
    return {f["name"]: f for f in mongodb_seed.load_fixtures(str(FIXTURES))}


def test_shipped_fixtures_cover_the_platform_collections():
    fixtures = shipped()
    assert set(fixtures) == {
        "users",
        "tenants",
        "audit_logs",
        "configs",
        "notifications",
        "sessions",
    }
    for fixture in fixtures.values():
        assert fixture["documents"], fixture["name"]
    # Everything reset drops, reseed refills (migrations aside: migrate owns it).
    assert set(fixtures) == set(mongodb_reset.PLATFORM_COLLECTIONS) - {"migrations"}


def test_shipped_indexes_are_the_architectures():
    declared = {
        name: [(spec["keys"], spec["unique"]) for spec in fixture["indexes"]]
        for name, fixture in shipped().items()
        if fixture["indexes"]
    }
    assert declared == {
        "users": [
            ([("email", 1)], True),
            ([("tenant_id", 1), ("status", 1)], False),
            ([("created_at", -1)], False),
        ],
        "tenants": [([("slug", 1)], True), ([("status", 1)], False)],
        "audit_logs": [
            ([("tenant_id", 1), ("created_at", -1)], False),
            ([("user_id", 1), ("action", 1)], False),
        ],
        "configs": [([("scope", 1), ("tenant_id", 1), ("key", 1)], True)],
    }


def test_shipped_demo_data_is_consistent():
    fixtures = shipped()
    tenants = {t["_id"]: t for t in fixtures["tenants"]["documents"]}
    users = fixtures["users"]["documents"]
    assert tenants["tenant-demo"]["slug"] == "demo"
    demo_users = [u for u in users if u["tenant_id"] == "tenant-demo"]
    assert any("admin" in u["roles"] for u in demo_users)
    assert any(u["roles"] == ["user"] for u in demo_users)
    assert {u["tenant_id"] for u in users} <= set(tenants)
    emails = [u["email"] for u in users]
    assert len(emails) == len(set(emails))  # the unique index would refuse duplicates
    for user in users:
        assert "password" not in user
        assert re.fullmatch(r"\$2[aby]\$10\$[./A-Za-z0-9]{53}", user["password_hash"]), user["_id"]
        # Fixed dates, so a rerun compares equal.
        assert user["created_at"].tzinfo is not None
    scopes = {c["scope"] for c in fixtures["configs"]["documents"]}
    assert scopes == {"global", "tenant", "feature"}
    for config in fixtures["configs"]["documents"]:
        # Globals have tenant_id null (not missing) so the unique index covers them.
        assert config["tenant_id"] is None if config["scope"] == "global" else config["tenant_id"]
    for log in fixtures["audit_logs"]["documents"]:
        assert isinstance(log["_id"], ObjectId)
        assert log["user_id"] in {u["_id"] for u in users}


def test_shipped_fixtures_fit_ferretdb_and_bson():
    for fixture in shipped().values():
        mongodb_seed.check_server_support([fixture], {"rich_bson_types": False})
        for doc in fixture["documents"]:
            bson.encode(doc)  # raises on anything BSON cannot hold
