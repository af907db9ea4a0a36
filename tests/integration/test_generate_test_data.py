"""generate-test-data.yml through `make generate-test-data`, as users type it, into a fresh
database of the harness's FerretDB: COUNT= documents per platform collection (a tenant per
ten users), beside what is there; a rerun changes nothing, a larger count adds the new ones
only."""

import pytest

pytestmark = pytest.mark.integration

COLLECTIONS = ["users", "sessions", "notifications", "configs", "audit_logs"]


def test_test_data_is_generated_idempotently_beside_the_data_there(
    make, ferretdb_uri, fresh_db_name, mongo_client
):
    db = mongo_client[fresh_db_name]
    db.users.insert_one({"_id": "mine", "email": "me@example.test"})
    args = {"MONGODB_URI": ferretdb_uri, "ARGS": f"-e mongodb_database={fresh_db_name}"}

    run = make("generate-test-data", COUNT=15, **args)
    assert run.returncode == 0, run.stdout[-3000:]
    for name in COLLECTIONS:
        assert db[name].count_documents({"_id": {"$regex": "^(testdata-|tenant:testdata-)"}}) == 15
    assert db.tenants.count_documents({}) == 1
    assert db.users.find_one({"_id": "mine"}) == {"_id": "mine", "email": "me@example.test"}
    user = db.users.find_one({"_id": "testdata-user-0003"})
    assert user["tenant_id"] == "testdata-tenant-0001" and user["email"].endswith("@example.test")

    again = make("generate-test-data", COUNT=15, **args)
    assert again.returncode == 0 and " changed=0 " in again.stdout, again.stdout[-3000:]

    more = make("generate-test-data", COUNT=25, **args)
    assert more.returncode == 0, more.stdout[-3000:]
    assert db.users.count_documents({}) == 26  # 25 generated and the one that was there
    assert db.tenants.count_documents({}) == 2
