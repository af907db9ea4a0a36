"""verify-backup.yml as users type it, on a real backup of the harness's FerretDB: the
newest backup by default, what it holds reported (collections, documents, bytes of BSON,
the same figures the database holds), nothing written; a corrupted and a truncated copy
refused with one sentence naming the file."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root with its size and modification time: what writing would change."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def last_line(run) -> str:
    return run.stdout.strip().splitlines()[-1]


def seeded_backup(playbook, backups: Path, uri: str, database: str) -> Path:
    """The demo data seeded into `database` and backed up with db-backup.yml into `backups`."""
    target = ("-e", f"mongodb_uri={uri}", "-e", f"mongodb_database={database}")
    assert playbook("db-seed.yml", *target).returncode == 0
    made = playbook("db-backup.yml", *target, "-e", f"backup_dir={backups}")
    assert made.returncode == 0, made.stdout[-3000:]
    return Path(last_line(made).split(" ", 1)[0])


def test_verify_reads_the_newest_backup_and_reports_what_it_holds(
    playbook, tmp_path, ferretdb_uri, mongo_client, fresh_db_name
):
    backups = tmp_path / "backups"
    archive = seeded_backup(playbook, backups, ferretdb_uri, fresh_db_name)
    # An older backup beside it, damaged: the default is the newest, so it is not read.
    older = backups / "daily" / "mongodb-2020-01-01.tar.gz"
    older.write_bytes(b"not a backup")

    db = mongo_client[fresh_db_name]
    raw = CodecOptions(document_class=RawBSONDocument)
    names = db.list_collection_names()
    documents = sum(db[name].count_documents({}) for name in names)
    size = sum(len(d.raw) for name in names for d in db.get_collection(name, raw).find())
    assert documents > 0

    before = tree(tmp_path)
    verified = playbook("verify-backup.yml", "-e", f"backup_dir={backups}")
    assert verified.returncode == 0, verified.stdout[-3000:]
    assert last_line(verified) == (
        f"{archive} verified: {len(names)} collections, {documents} documents, {size} bytes"
    )
    assert f"{fresh_db_name}.users: {db.users.count_documents({})} documents" in verified.stdout
    assert tree(tmp_path) == before

    # A relative file, from the directory the user is in; check mode reads the same.
    relative = archive.relative_to(tmp_path)
    named = playbook("verify-backup.yml", "--check", "-e", f"file={relative}", cwd=tmp_path)
    assert named.returncode == 0, named.stdout[-3000:]
    assert last_line(named) == last_line(verified)
    assert "changed=0" in named.stdout
    assert tree(tmp_path) == before


def test_verify_refuses_a_corrupted_or_truncated_backup_in_one_sentence(
    playbook, tmp_path, ferretdb_uri, fresh_db_name
):
    backups = tmp_path / "backups"
    archive = seeded_backup(playbook, backups, ferretdb_uri, fresh_db_name)
    data = archive.read_bytes()

    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(data[: len(data) // 2])
    corrupted = tmp_path / "corrupted.tar.gz"
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    corrupted.write_bytes(bytes(flipped))
    # The newest by name is a damaged one: the default run must say so, not pick another.
    newest = backups / "daily" / "mongodb-2099-12-31.tar.gz"
    shutil.copy(truncated, newest)

    for bad in (truncated, corrupted, newest):
        before = tree(tmp_path)
        args = ("-e", f"backup_dir={backups}") if bad == newest else ("-e", f"file={bad}")
        run = playbook("verify-backup.yml", *args)
        assert run.returncode != 0, run.stdout[-3000:]
        said = re.search(r"msg: '(Backup .*?)'", " ".join(run.stdout.split()))
        assert said, run.stdout[-3000:]
        # One sentence naming the file once, and what is wrong with it.
        assert said[1].startswith(f"Backup {bad} does not verify: it is "), said[1]
        assert said[1].count(str(bad)) == 1 and said[1].endswith("."), said[1]
        assert "failed=1" in run.stdout
        assert tree(tmp_path) == before

    empty = tmp_path / "empty"
    os.makedirs(empty / "daily")
    none = playbook("verify-backup.yml", "-e", f"backup_dir={empty}")
    assert none.returncode != 0
    assert f"{empty} holds no backup" in none.stdout
