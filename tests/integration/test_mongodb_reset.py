"""mongodb_reset against the harness's FerretDB: confirmation, what is dropped, reseeding."""

import datetime
import functools
from pathlib import Path

import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils import (
    _migration_lock,
    mongodb_migrate,
    mongodb_reset,
    mongodb_seed,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb_reset import ResetError

REPO = Path(__file__).resolve().parents[2]
FIXTURES = str(REPO / "roles" / "database" / "files" / "fixtures")
MIGRATIONS = str(REPO / "roles" / "database" / "files" / "migrations")


@pytest.fixture
def seeded(mongo_client, fresh_db_name):
    """A database with the platform's data, its migrations, and a collection of someone else."""
    db = mongo_client[fresh_db_name]
    mongodb_migrate.migrate(db, MIGRATIONS)
    mongodb_seed.seed(db, mongodb_seed.load_fixtures(FIXTURES))
    db.users.insert_one({"_id": "user-local", "email": "me@localhost"})
    db.keep_me.insert_many([{"_id": 1}, {"_id": 2}])
    return db


def counts(db):
    return {name: db[name].count_documents({}) for name in sorted(db.list_collection_names())}


def test_without_confirmation_it_refuses_and_drops_nothing(seeded):
    before = counts(seeded)
    with pytest.raises(ResetError) as caught:
        mongodb_reset.reset(seeded, confirm=False, target="127.0.0.1:27117")
    msg = str(caught.value)
    assert msg.startswith("Refusing to drop users (5 documents), tenants (2 documents)")
    assert "migrations (3 documents)" in msg
    assert f"from database '{seeded.name}' at 127.0.0.1:27117 without confirmation" in msg
    assert "set `confirm: true`" in msg
    assert counts(seeded) == before


def reseed_with(db, fixtures):
    """What the module passes as reseed: the seed of these fixtures into db."""
    return functools.partial(mongodb_seed.seed, db, fixtures)


def test_check_mode_reports_what_would_be_dropped_and_drops_nothing(seeded):
    before = counts(seeded)
    fixtures = mongodb_seed.load_fixtures(FIXTURES)
    result = mongodb_reset.reset(
        seeded, confirm=False, check_mode=True, reseed=reseed_with(seeded, fixtures)
    )
    assert result["changed"] is True
    assert result["dropped"] == [
        {"name": "users", "documents": 5},
        {"name": "tenants", "documents": 2},
        {"name": "sessions", "documents": 1},
        {"name": "notifications", "documents": 2},
        {"name": "configs", "documents": 7},
        {"name": "audit_logs", "documents": 4},
        {"name": "migrations", "documents": 3},
    ]
    # The reseed is planned against the emptied collections.
    assert result["seed"]["inserted"] == sum(len(f["documents"]) for f in fixtures)
    assert result["seed"]["collections"]["users"]["indexes_created"] == [
        "email_1",
        "tenant_id_1_status_1",
        "created_at_-1",
    ]
    assert counts(seeded) == before


def test_with_confirmation_it_drops_only_the_platform_collections_and_reseeds(seeded):
    fixtures = mongodb_seed.load_fixtures(FIXTURES)
    result = mongodb_reset.reset(seeded, confirm=True, reseed=reseed_with(seeded, fixtures))
    assert result["changed"] is True
    assert [d["name"] for d in result["dropped"]] == list(mongodb_reset.PLATFORM_COLLECTIONS)
    assert result["absent"] == []
    assert result["seed"]["inserted"] == sum(len(f["documents"]) for f in fixtures)

    after = counts(seeded)
    assert after["keep_me"] == 2  # not the platform's: untouched
    assert "migrations" not in after and "migrations_lock" in after
    assert after["users"] == 4  # the local user went with the collection; the fixtures are back
    assert seeded.users.find_one({"_id": "user-local"}) is None
    assert seeded.users.index_information()["email_1"]["unique"] is True

    # Reseeding after a reset leaves a database that seeds as unchanged.
    assert mongodb_seed.seed(seeded, fixtures)["changed"] is False


def test_without_reseed_the_collections_are_gone(seeded):
    result = mongodb_reset.reset(seeded, collections=["audit_logs", "sessions"], confirm=True)
    assert result == {
        "changed": True,
        "dropped": [{"name": "audit_logs", "documents": 4}, {"name": "sessions", "documents": 1}],
        "absent": [],
        "seed": None,
    }
    names = set(seeded.list_collection_names())
    assert not names & {"audit_logs", "sessions"}
    assert {"users", "tenants", "keep_me"} <= names


def test_a_reset_of_nothing_is_not_a_change(mongo_client, fresh_db_name):
    db = mongo_client[fresh_db_name]
    result = mongodb_reset.reset(db, confirm=True)
    assert result["changed"] is False
    assert result["dropped"] == []
    assert result["absent"] == list(mongodb_reset.PLATFORM_COLLECTIONS)


def test_it_refuses_while_a_migration_holds_the_lock(seeded):
    now = _migration_lock.server_now(seeded)
    seeded.migrations_lock.insert_one(
        {
            "_id": "migrate",
            "owner": "laptop:4242:abcd",
            "acquired_at": now,
            "expires_at": now + datetime.timedelta(minutes=5),
        }
    )
    before = counts(seeded)
    with pytest.raises(
        ResetError, match=r"A migrate run \(owner laptop:4242:abcd\) holds the lock"
    ):
        mongodb_reset.reset(seeded, confirm=True)
    assert counts(seeded) == before


def test_an_expired_lock_does_not_block_a_reset(seeded):
    seeded.migrations_lock.insert_one(
        {"_id": "migrate", "owner": "dead:1:x", "expires_at": datetime.datetime(2020, 1, 1)}
    )
    assert mongodb_reset.reset(seeded, confirm=True)["changed"] is True
