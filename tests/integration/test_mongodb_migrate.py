"""mongodb_migrate against the harness's FerretDB: order, records, checksums, the lock."""

import datetime
import threading
import time
from pathlib import Path

import pymongo
import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils import (
    _migration_lock,
    mongodb_migrate,
    mongodb_seed,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._migration_lock import (
    MigrationLockError,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb_migrate import (
    MigrationError,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = str(REPO / "roles" / "database" / "files" / "fixtures")
MIGRATIONS = str(REPO / "roles" / "database" / "files" / "migrations")

ARCHITECTURE_INDEXES = {
    "users": {"email_1", "tenant_id_1_status_1", "created_at_-1"},
    "tenants": {"slug_1", "status_1"},
    "audit_logs": {"tenant_id_1_created_at_-1", "user_id_1_action_1"},
    "configs": {"scope_1_tenant_id_1_key_1"},
}


def indexes(db):
    return {
        name: set(db[name].index_information()) - {"_id_"}
        for name in db.list_collection_names()
        if set(db[name].index_information()) - {"_id_"}
    }


def make(directory: Path, files: dict) -> str:
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return str(directory)


# --- the shipped migrations -----------------------------------------------------------------


def test_shipped_migrations_up_then_down(mongo_client, fresh_db_name):
    db = mongo_client[fresh_db_name]
    preview = mongodb_migrate.migrate(db, MIGRATIONS, check_mode=True)
    assert [(m["version"], m["status"]) for m in preview["migrations"]] == [
        ("0001", "would apply"),
        ("0002", "would apply"),
        ("0003", "would apply"),
    ]
    assert db.list_collection_names() == []  # check mode: no lock, no records, nothing

    up = mongodb_migrate.migrate(db, MIGRATIONS)
    assert up["changed"] is True
    assert [(m["version"], m["status"]) for m in up["migrations"]] == [
        ("0001", "applied"),
        ("0002", "applied"),
        ("0003", "applied"),
    ]
    assert (up["applied"], up["pending"], up["current_version"]) == (
        ["0001", "0002", "0003"],
        [],
        "0003",
    )
    assert indexes(db) == ARCHITECTURE_INDEXES
    assert {"users", "tenants", "sessions", "notifications", "configs", "audit_logs"} <= set(
        db.list_collection_names()
    )
    records = list(db.migrations.find(sort=[("_id", 1)]))
    assert [(r["_id"], r["version"], r["file"]) for r in records] == [
        (1, "0001", "0001_initial_schema.yml"),
        (2, "0002", "0002_configs_lookup_index.yml"),
        (3, "0003", "0003_backfill_user_defaults.py"),
    ]
    for record, migration in zip(records, mongodb_migrate.discover(MIGRATIONS), strict=True):
        assert record["checksum"] == migration["checksum"]
        assert isinstance(record["applied_at"], datetime.datetime)
        assert record["duration_seconds"] >= 0
        assert record["applied_by"] == up["lock"]["owner"]
    assert db.migrations_lock.count_documents({}) == 0  # released

    again = mongodb_migrate.migrate(db, MIGRATIONS)
    assert again["changed"] is False and again["migrations"] == []

    one_back = mongodb_migrate.migrate(db, MIGRATIONS, direction="down")
    assert [(m["version"], m["status"]) for m in one_back["migrations"]] == [("0003", "reverted")]
    assert one_back["current_version"] == "0002"

    down = mongodb_migrate.migrate(db, MIGRATIONS, direction="down", target="0")
    assert [m["version"] for m in down["migrations"]] == ["0002", "0001"]
    assert (down["applied"], down["current_version"]) == ([], None)
    assert indexes(db) == {}
    assert db.migrations.count_documents({}) == 0


def test_seeding_a_migrated_database_creates_no_index_twice(mongo_client, fresh_db_name):
    db = mongo_client[fresh_db_name]
    mongodb_migrate.migrate(db, MIGRATIONS)
    result = mongodb_seed.seed(db, mongodb_seed.load_fixtures(FIXTURES))
    assert all(c["indexes_created"] == [] for c in result["collections"].values())
    # ...and migrating a seeded database: the backfill finds nothing to fill.
    other = mongo_client[fresh_db_name + "_b"]
    try:
        mongodb_seed.seed(other, mongodb_seed.load_fixtures(FIXTURES))
        before = list(other.users.find(sort=[("_id", 1)]))
        mongodb_migrate.migrate(other, MIGRATIONS)
        assert list(other.users.find(sort=[("_id", 1)])) == before
    finally:
        mongo_client.drop_database(other.name)


def test_the_backfill_fills_only_what_is_missing(mongo_client, fresh_db_name):
    db = mongo_client[fresh_db_name]
    created = datetime.datetime(2023, 5, 1, 12, 0)
    db.users.insert_many(
        [
            {"_id": "old", "email": "old@example.com", "created_at": created},
            {
                "_id": "new",
                "email": "new@example.com",
                "status": "inactive",
                "roles": ["admin"],
                "created_at": created,
                "updated_at": datetime.datetime(2024, 1, 1),
            },
        ]
    )
    mongodb_migrate.migrate(db, MIGRATIONS, target="0003")
    old = db.users.find_one({"_id": "old"})
    assert (old["status"], old["roles"], old["updated_at"]) == ("active", ["user"], created)
    new = db.users.find_one({"_id": "new"})
    assert (new["status"], new["roles"], new["updated_at"]) == (
        "inactive",
        ["admin"],
        datetime.datetime(2024, 1, 1),
    )


def test_up_to_a_target_then_the_rest(mongo_client, fresh_db_name):
    db = mongo_client[fresh_db_name]
    first = mongodb_migrate.migrate(db, MIGRATIONS, target="1")
    assert [m["version"] for m in first["migrations"]] == ["0001"]
    assert first["pending"] == ["0002", "0003"]
    assert "configs" not in indexes(db)
    rest = mongodb_migrate.migrate(db, MIGRATIONS)
    assert [m["version"] for m in rest["migrations"]] == ["0002", "0003"]


# --- changed files --------------------------------------------------------------------------


def test_a_migration_edited_after_it_was_applied_stops_everything(
    mongo_client, fresh_db_name, tmp_path
):
    src = make(
        tmp_path / "m",
        {
            "0001_things.yml": "up:\n  - create_collection: things\n"
            "down:\n  - drop_collection: things\n",
        },
    )
    db = mongo_client[fresh_db_name]
    mongodb_migrate.migrate(db, src)
    old = mongodb_migrate.file_checksum(str(tmp_path / "m" / "0001_things.yml"))
    (tmp_path / "m" / "0001_things.yml").write_text(
        "up:\n  - create_collection: things\n  - create_collection: more\n"
    )
    new = mongodb_migrate.file_checksum(str(tmp_path / "m" / "0001_things.yml"))
    make(tmp_path / "m", {"0002_pending.yml": "up:\n  - create_collection: pending\n"})

    for check_mode in (True, False):
        with pytest.raises(MigrationError) as caught:
            mongodb_migrate.migrate(db, src, check_mode=check_mode)
        msg = str(caught.value)
        assert f"{tmp_path / 'm' / '0001_things.yml'} was changed after it was applied" in msg
        assert f"(checksum then {old}, now {new})" in msg
        assert "Nothing was run" in msg and "put the change in a new migration" in msg
    assert "pending" not in db.list_collection_names()
    assert "more" not in db.list_collection_names()
    assert db.migrations.count_documents({}) == 1
    assert db.migrations_lock.count_documents({}) == 0  # released on the error too


# --- failures -------------------------------------------------------------------------------


def test_a_failing_migration_is_not_recorded_and_the_ones_before_it_are(
    mongo_client, fresh_db_name, tmp_path
):
    src = make(
        tmp_path / "m",
        {
            "0001_ok.yml": "up:\n  - insert: {collection: marks, documents: [{_id: one}]}\n",
            "0002_boom.py": "def up(db):\n    db.marks.insert_one({'_id': 'two'})\n"
            "    raise RuntimeError('tenant table missing')\n",
            "0003_never.yml": "up:\n  - insert: {collection: marks, documents: [{_id: three}]}\n",
        },
    )
    db = mongo_client[fresh_db_name]
    with pytest.raises(MigrationError) as caught:
        mongodb_migrate.migrate(db, src)
    msg = str(caught.value)
    assert "0002_boom.py failed (up() raised RuntimeError: tenant table missing)" in msg
    assert [m["version"] for m in caught.value.done] == ["0001"]
    assert [r["_id"] for r in db.migrations.find()] == [1]
    # No transactions: what 0002 did before failing stays; 0003 never ran.
    assert sorted(d["_id"] for d in db.marks.find()) == ["one", "two"]
    assert db.migrations_lock.count_documents({}) == 0


def test_yaml_operations_and_their_reruns(mongo_client, fresh_db_name, tmp_path):
    src = make(
        tmp_path / "m",
        {
            "0001_data.yml": """
up:
  - create_collection: people
  - insert:
      collection: people
      documents: [{_id: p1, mail: a@x, kind: staff}, {_id: p2, mail: b@x}]
  - rename_field: {collection: people, from: mail, to: email}
  - update: {collection: people, filter: {kind: {$exists: false}}, update: {$set: {kind: guest}}}
  - create_index: {collection: people, keys: {email: 1}, unique: true}
down:
  - drop_index: {collection: people, keys: {email: 1}}
  - rename_field: {collection: people, from: email, to: mail}
  - delete: {collection: people, filter: {_id: {$in: [p1, p2]}}}
""",
            "0002_rename.yml": """
up:
  - rename_collection: {from: people, to: persons}
down:
  - rename_collection: {from: persons, to: people}
""",
        },
    )
    db = mongo_client[fresh_db_name]
    mongodb_migrate.migrate(db, src, target="1")
    expected = [
        {"_id": "p1", "email": "a@x", "kind": "staff"},
        {"_id": "p2", "email": "b@x", "kind": "guest"},
    ]
    assert list(db.people.find(sort=[("_id", 1)])) == expected
    assert db.people.index_information()["email_1"]["unique"] is True

    # Safe over its own result, as after a failure half way: run the up steps again.
    data, rename = mongodb_migrate.discover(src)
    for migration in (data, rename):
        mongodb_migrate.load(migration)
    mongodb_migrate.run_migration(db, data, "up")
    assert list(db.people.find(sort=[("_id", 1)])) == expected

    mongodb_migrate.migrate(db, src)
    assert list(db.persons.find(sort=[("_id", 1)])) == expected
    assert "people" not in db.list_collection_names()
    mongodb_migrate.run_migration(db, rename, "up")  # already renamed: nothing to do

    mongodb_migrate.migrate(db, src, direction="down", target="0")
    assert "persons" not in db.list_collection_names()
    assert db.people.count_documents({}) == 0
    assert "email_1" not in db.people.index_information()


def test_rename_collection_never_drops_an_existing_target(mongo_client, fresh_db_name, tmp_path):
    src = make(tmp_path / "m", {"0001_mv.yml": "up:\n  - rename_collection: {from: a, to: b}\n"})
    db = mongo_client[fresh_db_name]
    db.a.insert_one({"_id": 1})
    db.b.insert_one({"_id": 2})
    with pytest.raises(MigrationError, match="'a' cannot be renamed to 'b', which exists"):
        mongodb_migrate.migrate(db, src)
    assert db.b.find_one() == {"_id": 2} and db.a.find_one() == {"_id": 1}


# --- the lock -------------------------------------------------------------------------------

SLOW = {
    "0001_slow.py": "import time\n\ndef up(db):\n    time.sleep(1.5)\n"
    "    db.runs.insert_one({'migration': 1, 'at': time.time()})\n\ndef down(db):\n    pass\n",
    "0002_after.py": "import time\n\ndef up(db):\n"
    "    db.runs.insert_one({'migration': 2, 'at': time.time()})\n\ndef down(db):\n    pass\n",
}


def run_in_thread(uri, database, src, results, key, **kwargs):
    def target():
        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=3000)
        try:
            results[key] = mongodb_migrate.migrate(client[database], src, **kwargs)
        except (MigrationError, MigrationLockError) as exc:
            results[key] = exc
        finally:
            client.close()

    thread = threading.Thread(target=target)
    thread.start()
    return thread


def wait_for_lock(db, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.migrations_lock.find_one({"_id": "migrate"}):
            return
        time.sleep(0.02)
    raise AssertionError("the first run never took the lock")


def test_a_second_run_waits_for_the_first_and_applies_nothing_twice(
    ferretdb_uri, mongo_client, fresh_db_name, tmp_path
):
    src = make(tmp_path / "m", SLOW)
    db = mongo_client[fresh_db_name]
    results = {}
    first = run_in_thread(ferretdb_uri, fresh_db_name, src, results, "first", owner="first")
    wait_for_lock(db)
    second = run_in_thread(
        ferretdb_uri, fresh_db_name, src, results, "second", owner="second", lock_timeout=30
    )
    first.join(30)
    second.join(30)

    assert [m["version"] for m in results["first"]["migrations"]] == ["0001", "0002"]
    assert results["second"]["migrations"] == [] and results["second"]["changed"] is False
    assert results["second"]["lock"]["waited_seconds"] > 0.5
    runs = list(db.runs.find(sort=[("at", 1)]))
    assert [r["migration"] for r in runs] == [1, 2]  # each exactly once, in order
    assert db.migrations.count_documents({}) == 2
    assert db.migrations_lock.count_documents({}) == 0


def test_a_second_run_that_cannot_wait_fails_with_a_lock_message(
    ferretdb_uri, mongo_client, fresh_db_name, tmp_path
):
    src = make(tmp_path / "m", SLOW)
    db = mongo_client[fresh_db_name]
    results = {}
    first = run_in_thread(
        ferretdb_uri, fresh_db_name, src, results, "first", owner="laptop:1:first"
    )
    wait_for_lock(db)
    second = run_in_thread(
        ferretdb_uri,
        fresh_db_name,
        src,
        results,
        "second",
        owner="laptop:2:second",
        lock_timeout=0.3,
    )
    second.join(30)
    first.join(30)

    assert isinstance(results["second"], MigrationLockError)
    msg = str(results["second"])
    assert msg.startswith(
        f"Another migrate run holds the lock on database '{fresh_db_name}' "
        "(owner laptop:1:first, since "
    )
    assert "did not finish within lock_timeout=0.3s" in msg
    assert "db.migrations_lock.deleteOne({_id: 'migrate'})" in msg
    assert [m["version"] for m in results["first"]["migrations"]] == ["0001", "0002"]
    assert [r["migration"] for r in db.runs.find()] == [1, 2]


def test_a_stale_lock_of_a_dead_run_is_taken_over(mongo_client, fresh_db_name, tmp_path):
    src = make(tmp_path / "m", {"0001_a.yml": "up:\n  - create_collection: a\n"})
    db = mongo_client[fresh_db_name]
    past = _migration_lock.server_now(db) - datetime.timedelta(minutes=1)
    db.migrations_lock.insert_one(
        {"_id": "migrate", "owner": "crashed:99:x", "acquired_at": past, "expires_at": past}
    )
    result = mongodb_migrate.migrate(db, src, lock_timeout=0)
    assert result["lock"]["took_over_stale"] == "crashed:99:x"
    assert [m["version"] for m in result["migrations"]] == ["0001"]
    assert db.migrations_lock.count_documents({}) == 0


def test_a_run_that_lost_its_lock_stops(mongo_client, fresh_db_name):
    db = mongo_client[fresh_db_name]
    lock = _migration_lock.MigrationLock(db, owner="me", ttl=60).acquire()
    db.migrations_lock.update_one({"_id": "migrate"}, {"$set": {"owner": "someone-else"}})
    with pytest.raises(MigrationLockError, match="lost its lock"):
        lock.renew()
    lock.release()  # releases only its own lock: someone else's stays
    assert db.migrations_lock.find_one()["owner"] == "someone-else"
