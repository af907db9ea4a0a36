"""The db-*.yml playbooks exactly as users type them, from the checkout, on the live FerretDB.

seed, back up, lose data, restore from a relative `file`, and the refusals that must touch
nothing: no file, a missing file, a truncated archive.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def playbook(repo_root: Path, name: str, *extra: str, cwd: Path | None = None):
    return subprocess.run(
        [ANSIBLE_PLAYBOOK, str(repo_root / name), *extra],
        cwd=cwd or repo_root,
        # From another directory the checkout's ansible.cfg is named, as users do.
        env={**os.environ, "ANSIBLE_CONFIG": str(repo_root / "ansible.cfg")},
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


def snapshot(db) -> dict[str, list[bytes]]:
    """Every collection's documents as raw BSON, in _id order."""
    raw = CodecOptions(document_class=RawBSONDocument)
    return {
        name: [doc.raw for doc in db.get_collection(name, raw).find(sort=[("_id", 1)])]
        for name in sorted(db.list_collection_names())
    }


def test_backup_then_restore_gives_the_seeded_data_back(
    repo_root, tmp_path, ferretdb_uri, mongo_client, fresh_db_name
):
    target = ("-e", f"mongodb_uri={ferretdb_uri}", "-e", f"mongodb_database={fresh_db_name}")
    seeded = playbook(repo_root, "db-seed.yml", *target)
    assert seeded.returncode == 0, seeded.stdout[-3000:]
    before = snapshot(mongo_client[fresh_db_name])
    assert before["users"] and before["tenants"]

    backups = tmp_path / "backups"
    made = playbook(repo_root, "db-backup.yml", *target, "-e", f"backup_dir={backups}")
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
    restored = playbook(
        repo_root, "db-restore.yml", *target, "-e", f"file={relative}", cwd=tmp_path
    )
    assert restored.returncode == 0, restored.stdout[-3000:]
    assert snapshot(mongo_client[fresh_db_name]) == before
    assert "failed=0" in restored.stdout


def test_restore_refusals_touch_nothing(
    repo_root, tmp_path, ferretdb_uri, mongo_client, fresh_db_name
):
    target = ("-e", f"mongodb_uri={ferretdb_uri}", "-e", f"mongodb_database={fresh_db_name}")
    assert playbook(repo_root, "db-seed.yml", *target).returncode == 0
    made = playbook(repo_root, "db-backup.yml", *target, "-e", f"backup_dir={tmp_path}")
    assert made.returncode == 0, made.stdout[-3000:]
    archive = Path(made.stdout.strip().splitlines()[-1].split(" ", 1)[0])
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    mongo_client[fresh_db_name].users.insert_one({"_id": "written after the backup"})
    before = snapshot(mongo_client[fresh_db_name])

    no_file = playbook(repo_root, "db-restore.yml", *target)
    assert no_file.returncode != 0
    assert "Say what to restore" in no_file.stdout

    missing = playbook(repo_root, "db-restore.yml", *target, "-e", f"file={tmp_path}/nope.tar.gz")
    assert missing.returncode != 0
    assert "does not exist" in missing.stdout

    corrupt = playbook(repo_root, "db-restore.yml", *target, "-e", f"file={truncated}")
    assert corrupt.returncode != 0
    assert str(truncated) in corrupt.stdout

    assert snapshot(mongo_client[fresh_db_name]) == before
