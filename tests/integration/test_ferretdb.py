"""The harness's FerretDB is a real MongoDB wire-protocol server."""

import datetime

import bson
import pymongo
import pymongo.errors
import pytest


def test_documents_written_are_read_back(mongo_client, fresh_db_name):
    coll = mongo_client[fresh_db_name]["users"]
    docs = [
        {
            "_id": bson.ObjectId(),
            "email": f"user{i}@example.com",
            "tenant_id": "tenant-1",
            "roles": ["user"],
            "created_at": datetime.datetime(2026, 11, 24, 10, i, tzinfo=datetime.UTC),
        }
        for i in range(50)
    ]
    result = coll.insert_many(docs)
    assert len(result.inserted_ids) == 50

    found = list(coll.find({"tenant_id": "tenant-1"}, sort=[("email", 1)]))
    assert [d["email"] for d in found] == sorted(d["email"] for d in docs)
    assert found[0]["created_at"].replace(tzinfo=datetime.UTC) == docs[0]["created_at"]
    assert coll.count_documents({"email": "user7@example.com"}) == 1


def test_unique_index_is_enforced(mongo_client, fresh_db_name):
    coll = mongo_client[fresh_db_name]["tenants"]
    coll.create_index("slug", unique=True)
    coll.insert_one({"slug": "acme"})
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        coll.insert_one({"slug": "acme"})


def test_private_server_is_separate(private_ferretdb, mongo_client, fresh_db_name):
    private = pymongo.MongoClient(private_ferretdb.uri, serverSelectionTimeoutMS=3000)
    private[fresh_db_name]["c"].insert_one({"x": 1})
    assert private[fresh_db_name]["c"].count_documents({}) == 1
    assert fresh_db_name not in mongo_client.list_database_names()
    private.close()
