"""The db-*.yml playbooks exactly as users type them, from the checkout, on the live FerretDB.

seed, back up, lose data, restore from a relative `file`, and the refusals that must touch
nothing: no file, a missing file, a truncated archive.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument


def snapshot(db) -> dict[str, list[bytes]]:
    """Every collection's documents as raw BSON, in _id order."""
    raw = CodecOptions(document_class=RawBSONDocument)
    return {
        name: [doc.raw for doc in db.get_collection(name, raw).find(sort=[("_id", 1)])]
        for name in sorted(db.list_collection_names())
    }


def test_backup_then_restore_gives_the_seeded_data_back(
    playbook, tmp_path, ferretdb_uri, mongo_client, fresh_db_name
):
    target = ("-e", f"mongodb_uri={ferretdb_uri}", "-e", f"mongodb_database={fresh_db_name}")
    seeded = playbook("db-seed.yml", *target)
    assert seeded.returncode == 0, seeded.stdout[-3000:]
    before = snapshot(mongo_client[fresh_db_name])
    assert before["users"] and before["tenants"]

    backups = tmp_path / "backups"
    made = playbook("db-backup.yml", *target, "-e", f"backup_dir={backups}")
    assert made.returncode == 0, made.stdout[-3000:]
    # The last line names the archive and its size, for people and scripts.
    last = made.stdout.strip().splitlines()[-1]
    path, size = last.split(" ", 1)
    archive = Path(path)
    assert archive.parent == backups / "daily" and archive.is_file(), last
    assert archive.name.startswith("mongodb-") and archive.name.endswith(".tar.gz")
    assert size.endswith("KB") or size.endswith("Bytes"), last
    assert sorted(p.name for p in backups.glob("*/*.tar.gz")) == [archive.name] * 3

    mongo_client[fresh_db_name].users.delete_many({})
    mongo_client[fresh_db_name].tenants.drop()
    # A relative file is found from the directory the user runs in.
    relative = archive.relative_to(tmp_path)
    restored = playbook("db-restore.yml", *target, "-e", f"file={relative}", cwd=tmp_path)
    assert restored.returncode == 0, restored.stdout[-3000:]
    assert snapshot(mongo_client[fresh_db_name]) == before
    assert "failed=0" in restored.stdout


def test_restore_refusals_touch_nothing(
    playbook, tmp_path, ferretdb_uri, mongo_client, fresh_db_name
):
    target = ("-e", f"mongodb_uri={ferretdb_uri}", "-e", f"mongodb_database={fresh_db_name}")
    assert playbook("db-seed.yml", *target).returncode == 0
    made = playbook("db-backup.yml", *target, "-e", f"backup_dir={tmp_path}")
    assert made.returncode == 0, made.stdout[-3000:]
    archive = Path(made.stdout.strip().splitlines()[-1].split(" ", 1)[0])
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    mongo_client[fresh_db_name].users.insert_one({"_id": "written after the backup"})
    before = snapshot(mongo_client[fresh_db_name])

    no_file = playbook("db-restore.yml", *target)
    assert no_file.returncode != 0
    assert "Say what to restore" in no_file.stdout

    missing = playbook("db-restore.yml", *target, "-e", f"file={tmp_path}/nope.tar.gz")
    assert missing.returncode != 0
    assert "does not exist" in missing.stdout

    corrupt = playbook("db-restore.yml", *target, "-e", f"file={truncated}")
    assert corrupt.returncode != 0
    assert str(truncated) in corrupt.stdout

    assert snapshot(mongo_client[fresh_db_name]) == before


def backup_path(run: subprocess.CompletedProcess) -> Path:
    """The archive db-backup.yml names on its last line."""
    assert run.returncode == 0, run.stdout[-3000:]
    return Path(run.stdout.strip().splitlines()[-1].split(" ", 1)[0])


def test_namespace_include_and_exclude_reach_backup_and_restore(
    playbook, tmp_path, ferretdb_uri, mongo_client, fresh_db_name
):
    target = ("-e", f"mongodb_uri={ferretdb_uri}", "-e", f"mongodb_database={fresh_db_name}")
    assert playbook("db-seed.yml", *target).returncode == 0
    db = mongo_client[fresh_db_name]
    before = snapshot(db)
    assert {"users", "tenants", "configs"} <= set(before)
    users, tenants = f"{fresh_db_name}.users", f"{fresh_db_name}.tenants"

    full = backup_path(playbook("db-backup.yml", *target, "-e", f"backup_dir={tmp_path}/a"))
    # Commas part the patterns, as users type them.
    without = backup_path(
        playbook(
            "db-backup.yml",
            *target,
            "-e",
            f"backup_dir={tmp_path}/b",
            "-e",
            f"ns_exclude={users},{tenants}",
        )
    )

    mongo_client.drop_database(fresh_db_name)
    restored = playbook("db-restore.yml", *target, "-e", f"file={without}")
    assert restored.returncode == 0, restored.stdout[-3000:]
    expected = {name: docs for name, docs in before.items() if name not in ("users", "tenants")}
    assert snapshot(db) == expected

    # Only the users from the full backup: tenants stay absent.
    restored = playbook(
        "db-restore.yml", *target, "-e", f"file={full}", "-e", f"ns_include={users}"
    )
    assert restored.returncode == 0, restored.stdout[-3000:]
    assert snapshot(db) == {**expected, "users": before["users"]}

    # Everything but the users, which keep a change made since.
    db.users.insert_one({"_id": "written after the backup"})
    changed_users = snapshot(db)["users"]
    restored = playbook(
        "db-restore.yml", *target, "-e", f"file={full}", "-e", f"ns_exclude={users}"
    )
    assert restored.returncode == 0, restored.stdout[-3000:]
    assert snapshot(db) == {**before, "users": changed_users}


def applied(db) -> list[str]:
    return sorted(record["version"] for record in db.migrations.find())


def test_migrate_up_rerun_down_and_to_a_version(
    playbook, ferretdb_uri, mongo_client, fresh_db_name
):
    target = ("-e", f"mongodb_uri={ferretdb_uri}", "-e", f"mongodb_database={fresh_db_name}")
    db = mongo_client[fresh_db_name]

    up = playbook("db-migrate.yml", *target)
    assert up.returncode == 0 and "changed=1" in up.stdout, up.stdout[-3000:]
    assert applied(db) == ["0001", "0002", "0003"]
    assert "email_1" in db.users.index_information()

    again = playbook("db-migrate.yml", *target)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-3000:]
    assert applied(db) == ["0001", "0002", "0003"]

    newest = playbook("db-migrate.yml", *target, "-e", "direction=down")
    assert newest.returncode == 0 and "changed=1" in newest.stdout, newest.stdout[-3000:]
    assert applied(db) == ["0001", "0002"]

    none = playbook("db-migrate.yml", *target, "-e", "target_version=0")
    assert none.returncode == 0, none.stdout[-3000:]
    assert applied(db) == []
    assert "email_1" not in db.users.index_information()

    first = playbook("db-migrate.yml", *target, "-e", "target_version=1")
    assert first.returncode == 0, first.stdout[-3000:]
    assert applied(db) == ["0001"]
    assert "email_1" in db.users.index_information()
