"""Give users written before the user service set defaults a status, roles and updated_at.

The Go User model reads status, roles and updated_at unconditionally; users created by old
scripts or by hand lack them. Each user missing one gets status "active", roles ["user"],
and updated_at equal to its created_at. Safe to rerun: it only fills what is missing.
"""


def up(db):
    users = db["users"]
    users.update_many({"status": {"$exists": False}}, {"$set": {"status": "active"}})
    users.update_many({"roles": {"$exists": False}}, {"$set": {"roles": ["user"]}})
    # No pipeline updates on FerretDB ($set: "$created_at"): copy the date one by one.
    for user in users.find(
        {"updated_at": {"$exists": False}, "created_at": {"$exists": True}},
        {"created_at": 1},
    ):
        users.update_one({"_id": user["_id"]}, {"$set": {"updated_at": user["created_at"]}})


def down(db):
    """Keep the filled-in values: they cannot be told apart from values users set since,
    and the Go services need them. Reverting this migration only forgets that it ran."""
