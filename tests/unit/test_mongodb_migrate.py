"""Migration discovery, ordering, checksums, parsing and planning (no server)."""

import hashlib
from pathlib import Path

import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils import mongodb_migrate, mongodb_reset
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb_migrate import MigrationError

REPO = Path(__file__).resolve().parents[2]
MIGRATIONS = REPO / "roles" / "database" / "files" / "migrations"

UP_ONLY = "up:\n  - create_collection: things\n"


def make(directory: Path, files: dict) -> str:
    for name, text in files.items():
        (directory / name).write_text(text)
    return str(directory)


# --- discovery ------------------------------------------------------------------------------


def test_discovery_orders_by_version_number_not_by_name(tmp_path):
    src = make(
        tmp_path,
        {
            "10_ten.yml": UP_ONLY,
            "9_nine.py": "def up(db):\n    pass\n",
            "0002_two.yaml": UP_ONLY,
            "README.md": "not a migration",
        },
    )
    (tmp_path / "__pycache__").mkdir()
    found = mongodb_migrate.discover(src)
    assert [(m["number"], m["version"], m["name"], m["kind"]) for m in found] == [
        (2, "0002", "two", "yaml"),
        (9, "9", "nine", "python"),
        (10, "10", "ten", "yaml"),
    ]


def test_checksum_is_the_sha256_of_the_file(tmp_path):
    src = make(tmp_path, {"0001_a.yml": UP_ONLY})
    (migration,) = mongodb_migrate.discover(src)
    assert migration["checksum"] == hashlib.sha256(UP_ONLY.encode()).hexdigest()
    assert migration["checksum"] == mongodb_migrate.file_checksum(str(tmp_path / "0001_a.yml"))


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        ({"create_users.yml": UP_ONLY}, "is not named like a migration"),
        ({"0001_a.yml": UP_ONLY, "1_b.py": "def up(db): pass\n"}, "have the same version 1"),
        ({"0000_zero.yml": UP_ONLY}, "has version 0"),
    ],
)
def test_discovery_refuses_ambiguous_files(tmp_path, files, fragment):
    src = make(tmp_path, files)
    with pytest.raises(MigrationError, match=fragment):
        mongodb_migrate.discover(src)


def test_discovery_needs_a_directory():
    with pytest.raises(
        MigrationError, match=r"Option `src` is '/nonexistent', which is not a directory"
    ):
        mongodb_migrate.discover("/nonexistent")


def test_target_parsing(tmp_path):
    migrations = mongodb_migrate.discover(
        make(tmp_path, {"0001_a.yml": UP_ONLY, "0002_b.yml": UP_ONLY})
    )
    assert mongodb_migrate.parse_target(None, migrations) is None
    assert mongodb_migrate.parse_target("", migrations) is None
    assert mongodb_migrate.parse_target("0002", migrations) == 2
    assert mongodb_migrate.parse_target("2", migrations) == 2
    assert mongodb_migrate.parse_target("0", migrations) == 0
    with pytest.raises(
        MigrationError, match=r"Option `target` is '0009', which is no migration .* 0001, 0002"
    ):
        mongodb_migrate.parse_target("0009", migrations)
    with pytest.raises(
        MigrationError, match=r"Option `target` is 'latest', which is not a version"
    ):
        mongodb_migrate.parse_target("latest", migrations)


# --- loading --------------------------------------------------------------------------------


def load_one(tmp_path, name, text):
    make(tmp_path, {name: text})
    (migration,) = mongodb_migrate.discover(str(tmp_path))
    return mongodb_migrate.load(migration)


def test_yaml_migration_is_parsed_into_operations(tmp_path):
    migration = load_one(
        tmp_path,
        "0001_users.yml",
        """
description: Users and their email index.
up:
  - create_collection: users
  - create_index: {collection: users, keys: {email: 1}, unique: true}
  - insert: {collection: users, documents: [{_id: {$oid: 65a50a0000000000000a0001}, email: a@x}]}
  - update:
      collection: users
      filter: {status: {$exists: false}}
      update: {$set: {status: active}}
  - rename_field: {collection: users, from: mail, to: email}
down:
  - drop_index: {collection: users, keys: {email: 1}}
  - drop_collection: users
""",
    )
    assert migration["description"] == "Users and their email index."
    ops = [op for op, _ in migration["up"]]
    assert ops == ["create_collection", "create_index", "insert", "update", "rename_field"]
    assert migration["up"][1][1]["spec"]["unique"] is True
    assert str(migration["up"][2][1]["documents"][0]["_id"]) == "65a50a0000000000000a0001"
    # drop_index by keys resolves to MongoDB's default name.
    assert migration["down"][0][1]["name"] == "email_1"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("down: []\n", "must be a mapping with an 'up' list"),
        (
            "up:\n  - create_table: users\n",
            "'create_table' is no operation; use one of create_collection",
        ),
        ("up:\n  - update: {collection: users, filter: {}}\n", "update needs update"),
        (
            "up:\n  - update: {collection: users, filter: {}, update: {status: x}}\n",
            "update must use update operators",
        ),
        ("up:\n  - create_index: {collection: users, keys: {email: 2}}\n", "direction 2"),
        ("up:\n  - drop_index: {collection: users}\n", "drop_index needs name or keys"),
        ("up:\n  - insert: {collection: u, documents: [{$bad: 1}]}\n", "starting with '$'"),
        ("up:\n  - create_collection: a\n    drop_collection: b\n", "exactly one operation"),
        ("up: []\nrollback: []\n", "unknown top-level key(s) rollback"),
        ("up:\n  - delete: {collection: u, filter: {}, many: true}\n", "delete does not take many"),
    ],
)
def test_bad_yaml_migrations_name_the_step(tmp_path, text, fragment):
    with pytest.raises(MigrationError) as caught:
        load_one(tmp_path, "0001_bad.yml", text)
    assert str(tmp_path / "0001_bad.yml") in str(caught.value)
    assert fragment in str(caught.value)


def test_python_migration_is_loaded_from_its_file_without_bytecode(tmp_path):
    migration = load_one(
        tmp_path,
        "0002_backfill.py",
        '"""Backfill things."""\n\n'
        'def up(db):\n    return "up"\n\n'
        'def down(db):\n    return "down"\n',
    )
    assert migration["up"](None) == "up" and migration["down"](None) == "down"
    assert migration["description"] == "Backfill things."
    assert not (tmp_path / "__pycache__").exists()


def test_python_migration_without_down_cannot_be_reverted(tmp_path):
    migration = load_one(tmp_path, "0002_oneway.py", "def up(db):\n    pass\n")
    assert migration["down"] is None
    with pytest.raises(MigrationError, match=r"has no down\(\) function; it cannot be reverted"):
        mongodb_migrate.run_migration(None, migration, "down")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("def down(db):\n    pass\n", r"defines no up\(db\) function"),
        ("import not_a_module_anywhere\n", r"cannot be loaded \(ModuleNotFoundError"),
        ("def up(db)\n", r"cannot be loaded \(SyntaxError"),
    ],
)
def test_bad_python_migrations(tmp_path, text, fragment):
    with pytest.raises(MigrationError, match=fragment):
        load_one(tmp_path, "0001_bad.py", text)


def test_a_failing_python_migration_says_what_stays(tmp_path):
    migration = load_one(
        tmp_path, "0003_boom.py", "def up(db):\n    raise ValueError('no tenant x')\n"
    )
    with pytest.raises(MigrationError) as caught:
        mongodb_migrate.run_migration(None, migration, "up")
    msg = str(caught.value)
    assert "0003_boom.py failed (up() raised ValueError: no tenant x)" in msg
    assert "not recorded as applied" in msg and "no transactions" in msg


# --- planning and verifying -----------------------------------------------------------------


def discovered(tmp_path, count=3):
    files = {f"{n:04d}_m{n}.yml": UP_ONLY + f"# {n}\n" for n in range(1, count + 1)}
    return mongodb_migrate.discover(make(tmp_path, files))


def record(migration):
    return {
        "_id": migration["number"],
        "checksum": migration["checksum"],
        "file": migration["file"],
    }


def test_plan_up_runs_pending_in_order_up_to_the_target(tmp_path):
    migrations = discovered(tmp_path)
    records = {1: record(migrations[0])}
    plan = mongodb_migrate.plan
    assert [m["number"] for m in plan(migrations, records, "up", None)] == [2, 3]
    assert [m["number"] for m in plan(migrations, records, "up", 2)] == [2]
    assert plan(migrations, records, "up", 1) == []


def test_plan_down_reverts_newest_first(tmp_path):
    migrations = discovered(tmp_path)
    records = {m["number"]: record(m) for m in migrations}
    plan = mongodb_migrate.plan
    assert [m["number"] for m in plan(migrations, records, "down", None)] == [3]
    assert [m["number"] for m in plan(migrations, records, "down", 1)] == [3, 2]
    assert [m["number"] for m in plan(migrations, records, "down", 0)] == [3, 2, 1]


def test_verify_refuses_a_migration_changed_after_it_was_applied(tmp_path):
    migrations = discovered(tmp_path)
    records = {m["number"]: record(m) for m in migrations[:2]}
    records[2]["checksum"] = "0" * 64
    with pytest.raises(MigrationError) as caught:
        mongodb_migrate.verify(migrations, records)
    msg = str(caught.value)
    assert f"{tmp_path / '0002_m2.yml'} was changed after it was applied" in msg
    assert f"checksum then {'0' * 64}, now {migrations[1]['checksum']}" in msg
    assert "Nothing was run" in msg and "new migration" in msg


def test_verify_warns_about_applied_migrations_without_a_file(tmp_path):
    migrations = discovered(tmp_path, count=1)
    records = {1: record(migrations[0]), 7: {"_id": 7, "version": "0007", "file": "0007_gone.yml"}}
    warnings = mongodb_migrate.verify(migrations, records)
    assert warnings == [
        "Migration 0007 (0007_gone.yml) is recorded as applied but its file is not in src."
    ]
    with pytest.raises(
        MigrationError, match="migration\\(s\\) 7 are applied but their files are not in src"
    ):
        mongodb_migrate.plan(migrations, records, "down", 0)


# --- the shipped migrations -----------------------------------------------------------------


def test_shipped_migrations_load_and_can_all_be_reverted():
    migrations = mongodb_migrate.discover(str(MIGRATIONS))
    assert [m["version"] for m in migrations] == ["0001", "0002", "0003"]
    for migration in migrations:
        mongodb_migrate.load(migration)
        assert migration["up"], migration["file"]
        assert migration["down"] is not None, migration["file"]
        assert migration["description"], migration["file"]
    assert {m["kind"] for m in migrations} == {"yaml", "python"}


def test_shipped_migrations_create_the_indexes_the_fixtures_declare():
    from ansible_collections.vhvcorp.devtools.plugins.module_utils import mongodb_seed

    created = set()
    for migration in mongodb_migrate.discover(str(MIGRATIONS)):
        mongodb_migrate.load(migration)
        if migration["kind"] == "yaml":
            created |= {
                (args["collection"], mongodb_seed.index_name(args["spec"]), args["spec"]["unique"])
                for op, args in migration["up"]
                if op == "create_index"
            }
    declared = {
        (fixture["name"], mongodb_seed.index_name(spec), spec["unique"])
        for fixture in mongodb_seed.load_fixtures(str(REPO / "roles/database/files/fixtures"))
        for spec in fixture["indexes"]
    }
    assert created == declared


# --- reset's guards -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("database", "collections", "fragment"),
    [
        ("admin", ["users"], "Option `database` is 'admin', a database the server itself uses"),
        ("local", ["users"], "'local'"),
        ("go_dev", [], "Option `collections` is empty"),
        ("go_dev", ["system.users"], "Option `collections` has 'system.users'"),
        ("go_dev", ["a.b"], "has 'a.b'"),
    ],
)
def test_reset_refuses_what_it_must_never_touch(database, collections, fragment):
    with pytest.raises(mongodb_reset.ResetError, match=fragment):
        mongodb_reset.check_request(database, collections)
