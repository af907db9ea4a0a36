"""mongodb_seed against the harness's FerretDB: idempotence, indexes, check mode, errors."""

import socket
from pathlib import Path

import pymongo
import pymongo.errors
import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils import mongodb, mongodb_seed
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb_seed import FixtureError

REPO = Path(__file__).resolve().parents[2]
FIXTURES = str(REPO / "roles" / "database" / "files" / "fixtures")


def fixtures():
    return mongodb_seed.load_fixtures(FIXTURES)


def params(uri, **overrides):
    base = {name: spec.get("default") for name, spec in mongodb.mongodb_argument_spec().items()}
    base.update(uri=uri, server_selection_timeout=3.0, connect_timeout=3.0)
    base.update(overrides)
    return base


@pytest.fixture
def capabilities(mongo_client):
    return mongodb.server_capabilities(mongo_client)


def test_the_test_server_is_recognised_as_ferretdb(capabilities):
    assert capabilities["flavor"] == "ferretdb"
    assert capabilities["transactions"] is False
    assert capabilities["rename_drop_target"] is False


def test_seed_twice_the_second_run_changes_nothing(mongo_client, fresh_db_name, capabilities):
    db = mongo_client[fresh_db_name]
    first = mongodb_seed.seed(db, fixtures(), capabilities=capabilities)
    assert first["changed"] is True
    expected = {f["name"]: len(f["documents"]) for f in fixtures()}
    assert {name: c["inserted"] for name, c in first["collections"].items()} == expected
    assert first["inserted"] == sum(expected.values()) and first["updated"] == 0
    for name, count in expected.items():
        assert db[name].count_documents({}) == count

    second = mongodb_seed.seed(db, fixtures(), capabilities=capabilities)
    assert second["changed"] is False
    assert (second["inserted"], second["updated"], second["unchanged"]) == (
        0,
        0,
        sum(expected.values()),
    )
    for name, result in second["collections"].items():
        assert result["unchanged"] == expected[name]
        assert result["indexes_created"] == []
    assert second["collections"]["users"]["indexes_unchanged"] == [
        "email_1",
        "tenant_id_1_status_1",
        "created_at_-1",
    ]


def test_the_stored_documents_are_the_fixtures(mongo_client, fresh_db_name, capabilities):
    db = mongo_client[fresh_db_name]
    mongodb_seed.seed(db, fixtures(), capabilities=capabilities)
    admin = db.users.find_one({"email": "admin@demo.example.com"})
    assert admin["_id"] == "user-demo-admin" and admin["tenant_id"] == "tenant-demo"
    assert admin["roles"] == ["admin", "user"]
    assert admin["created_at"].isoformat() == "2024-01-15T10:00:00"
    flag = db.configs.find_one({"_id": "feature:tenant-demo:feature.new_dashboard"})
    assert (flag["scope"], flag["value"]) == ("feature", True)
    smtp = db.configs.find_one({"scope": "global", "key": "smtp.settings"})
    assert smtp["value"] == {"host": "smtp.example.com", "port": 587, "from": "noreply@example.com"}
    log = db.audit_logs.find_one({"action": "user.login"})
    assert str(log["_id"]) == "65a50a0000000000000a0003"


def test_indexes_exist_as_declared_and_unique_is_enforced(
    mongo_client, fresh_db_name, capabilities
):
    db = mongo_client[fresh_db_name]
    mongodb_seed.seed(db, fixtures(), capabilities=capabilities)
    users = db.users.index_information()
    assert users["email_1"]["key"] == [("email", 1)] and users["email_1"]["unique"] is True
    assert users["tenant_id_1_status_1"]["key"] == [("tenant_id", 1), ("status", 1)]
    assert users["created_at_-1"]["key"] == [("created_at", -1)]
    tenants = db.tenants.index_information()
    assert tenants["slug_1"]["unique"] is True and tenants["status_1"]["key"] == [("status", 1)]
    logs = db.audit_logs.index_information()
    assert logs["tenant_id_1_created_at_-1"]["key"] == [("tenant_id", 1), ("created_at", -1)]
    assert logs["user_id_1_action_1"]["key"] == [("user_id", 1), ("action", 1)]

    with pytest.raises(pymongo.errors.DuplicateKeyError):
        db.users.insert_one({"_id": "someone-else", "email": "admin@demo.example.com"})
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        db.tenants.insert_one({"_id": "tenant-copy", "slug": "demo"})
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        db.configs.insert_one(
            {"_id": "dup", "scope": "global", "tenant_id": None, "key": "smtp.settings"}
        )


def test_check_mode_writes_nothing(mongo_client, fresh_db_name, capabilities):
    db = mongo_client[fresh_db_name]
    preview = mongodb_seed.seed(db, fixtures(), check_mode=True, capabilities=capabilities)
    assert preview["changed"] is True
    assert preview["inserted"] == sum(len(f["documents"]) for f in fixtures())
    assert preview["collections"]["users"]["indexes_created"] == [
        "email_1",
        "tenant_id_1_status_1",
        "created_at_-1",
    ]
    assert db.list_collection_names() == []

    mongodb_seed.seed(db, fixtures(), capabilities=capabilities)
    db.users.update_one({"_id": "user-demo-bob"}, {"$set": {"status": "active"}})
    preview = mongodb_seed.seed(db, fixtures(), check_mode=True, capabilities=capabilities)
    assert preview["changed"] is True
    assert preview["collections"]["users"] == {
        "inserted": 0,
        "updated": 1,
        "unchanged": 3,
        "indexes_created": [],
        "indexes_unchanged": ["email_1", "tenant_id_1_status_1", "created_at_-1"],
    }
    assert db.users.find_one({"_id": "user-demo-bob"})["status"] == "active"


def test_a_changed_document_is_restored_and_others_are_left_alone(mongo_client, fresh_db_name):
    db = mongo_client[fresh_db_name]
    mongodb_seed.seed(db, fixtures())
    db.users.update_one(
        {"_id": "user-demo-bob"}, {"$set": {"name": "Robert"}, "$unset": {"avatar": ""}}
    )
    db.users.insert_one({"_id": "user-local", "email": "me@localhost", "tenant_id": "tenant-demo"})

    result = mongodb_seed.seed(db, fixtures(), want_diff=True)
    assert result["changed"] is True
    assert (result["inserted"], result["updated"]) == (0, 1)
    assert db.users.find_one({"_id": "user-demo-bob"})["name"] == "Bob Demo"
    assert db.users.find_one({"_id": "user-local"})["email"] == "me@localhost"
    key = 'users "user-demo-bob"'
    assert result["diff"]["before"][key]["name"] == "Robert"
    assert result["diff"]["after"][key]["name"] == "Bob Demo"
    assert list(result["diff"]["after"]) == [key]


def test_only_the_selected_collections_are_seeded(mongo_client, fresh_db_name):
    db = mongo_client[fresh_db_name]
    chosen = mongodb_seed.select_collections(fixtures(), ["configs"])
    result = mongodb_seed.seed(db, chosen)
    assert list(result["collections"]) == ["configs"]
    assert db.list_collection_names() == ["configs"]


def test_values_ferretdb_cannot_store_are_refused_before_any_write(
    mongo_client, fresh_db_name, capabilities, tmp_path
):
    (tmp_path / "a_tenants.yml").write_text("- _id: t1\n  name: fine\n")
    (tmp_path / "invoices.json").write_text('[{"_id": "i1", "total": {"$numberDecimal": "12.50"}}]')
    db = mongo_client[fresh_db_name]
    with pytest.raises(FixtureError) as caught:
        mongodb_seed.seed(db, mongodb_seed.load_fixtures(str(tmp_path)), capabilities=capabilities)
    assert "a Decimal128 at 'total'" in str(caught.value)
    assert "invoices.json" in str(caught.value)
    assert db.list_collection_names() == []  # not even the valid collection was written


def test_an_index_declared_differently_from_the_existing_one_is_an_error(
    mongo_client, fresh_db_name
):
    db = mongo_client[fresh_db_name]
    db.users.create_index([("email", 1)], name="email_1")  # not unique
    with pytest.raises(FixtureError) as caught:
        mongodb_seed.seed(db, fixtures())
    msg = str(caught.value)
    assert "Collection 'users' already has index 'email_1' on {email: 1} with" in msg
    assert "unique=False" in msg and "unique=True is declared" in msg
    assert "db.users.dropIndex('email_1')" in msg


def test_a_fixture_clashing_with_existing_data_names_the_document(mongo_client, fresh_db_name):
    db = mongo_client[fresh_db_name]
    db.users.create_index([("email", 1)], unique=True)
    db.users.insert_one({"_id": "user-local", "email": "alice@demo.example.com"})
    with pytest.raises(FixtureError) as caught:
        mongodb_seed.seed(db, fixtures())
    msg = str(caught.value)
    assert msg.startswith("Collection 'users' refused fixture document _id \"user-demo-alice\" (")
    assert "duplicate key" in msg


def test_a_changed_fixture_clashing_on_replace_names_the_document(mongo_client, fresh_db_name):
    db = mongo_client[fresh_db_name]
    mongodb_seed.seed(db, fixtures())
    db.users.update_one({"_id": "user-demo-alice"}, {"$set": {"email": "old@demo.example.com"}})
    db.users.insert_one({"_id": "user-local", "email": "alice@demo.example.com"})
    with pytest.raises(FixtureError) as caught:
        mongodb_seed.seed(db, fixtures())
    msg = str(caught.value)
    assert msg.startswith("Collection 'users' refused fixture document _id \"user-demo-alice\" (")
    # FerretDB's Go source locations are cut from the reason.
    assert "email_1" in msg and ".go:" not in msg


# --- connecting -----------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_server_gives_one_actionable_sentence():
    port = closed_port()
    with pytest.raises(mongodb.MongoDBError) as caught:
        mongodb.open_client(
            params(f"mongodb://app:hunter2@127.0.0.1:{port}/", server_selection_timeout=1.0)
        )
    msg = str(caught.value)
    assert msg == (
        f"Cannot reach MongoDB at 127.0.0.1:{port} within 1s (Connection refused); start it "
        "(the local stack's: `ansible-playbook setup.yml --tags stack`; the test server: "
        "`make harness`) or fix the host and port in `uri`."
    )


def test_credentials_the_server_refuses(ferretdb_uri):
    # FerretDB on SQLite has no users: any login is refused with AuthenticationFailed (18).
    uri = ferretdb_uri.replace("mongodb://", "mongodb://app:hunter2@")
    with pytest.raises(mongodb.MongoDBError) as caught:
        mongodb.open_client(params(uri))
    msg = str(caught.value)
    assert msg.startswith("MongoDB at 127.0.0.1:")
    assert "rejected the login of user 'app' with auth_source 'admin'" in msg
    assert "hunter2" not in msg


def test_tls_to_a_server_without_tls(ferretdb_uri):
    with pytest.raises(mongodb.MongoDBError) as caught:
        mongodb.open_client(params(ferretdb_uri, tls=True, server_selection_timeout=1.0))
    assert "No TLS connection to MongoDB at 127.0.0.1:" in str(caught.value)
    assert "set `tls: false`" in str(caught.value)


def test_open_client_pings(ferretdb_uri):
    client = mongodb.open_client(params(ferretdb_uri))
    try:
        assert isinstance(client, pymongo.MongoClient)
        assert client.admin.command("ping")["ok"] == 1.0
    finally:
        client.close()
