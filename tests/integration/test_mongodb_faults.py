"""Faults around the MongoDB modules, against real things: a disk that fills up under a
backup, a server killed in the middle of a restore, two restores into one database at once,
and a backup or reset while a migration holds its lock. Each must end with nothing lost and
one sentence that says what happened and what to do."""

import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import bson
import pymongo
import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils import (
    _migration_lock,
    mongodb_migrate,
    mongodb_reset,
    mongodb_seed,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils import mongodb_backup as backup
from ansible_collections.vhvcorp.devtools.plugins.module_utils import mongodb_restore as restore
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb import server_capabilities
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

pytestmark = pytest.mark.integration


# Results as JSON, to read a failure's message from.
JSON_RESULTS = {"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}


def one_failure(run: subprocess.CompletedProcess) -> str:
    """The message of the one task that failed in this run of ansible or ansible-playbook
    (results as JSON_RESULTS makes them), which must have failed."""
    assert run.returncode != 0, run.stdout[-3000:]
    failures = run.stdout.split("FAILED! => ")
    assert len(failures) == 2, run.stdout[-3000:]
    result, _ = json.JSONDecoder().raw_decode(failures[1])
    return result["msg"]


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden ones too), by relative path, with its bytes."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# --- the disk fills up while a backup is written ------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 512 KiB tmpfs of the test's own, unmounted afterwards."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k,mode=0755", "tmpfs", str(mount)], check=True
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_fails_the_backup_keeps_the_earlier_ones_and_skips_retention(
    playbook, small_disk, ferretdb_uri, mongo_client, fresh_db_name
):
    db = mongo_client[fresh_db_name]
    db.users.insert_many([{"_id": i, "name": f"user {i}"} for i in range(20)])
    daily = small_disk / "daily"
    # Today's good archive (the name the failing backup would replace) and two older ones,
    # which retention with daily=1 would delete if it ran.
    good = Path(
        backup.run_backup(
            mongo_client,
            str(daily),
            databases=[fresh_db_name],
            capabilities=server_capabilities(mongo_client),
        )["path"]
    )
    for day in ("2026-01-01", "2026-01-02"):
        shutil.copy(good, daily / f"mongodb-{day}.tar.gz")
    before = tree(small_disk)
    # 1.5 MB that does not compress, three times what the disk holds.
    db.blobs.insert_many([{"_id": i, "data": bson.Binary(os.urandom(50_000))} for i in range(30)])

    run = playbook(
        "db-backup.yml",
        *("-e", f"mongodb_uri={ferretdb_uri}", "-e", f"mongodb_database={fresh_db_name}"),
        *("-e", f"backup_dir={small_disk}", "-e", "database_retention_daily=1"),
        *("-e", "database_retention_weekly=0", "-e", "database_retention_monthly=0"),
        env=JSON_RESULTS,
    )
    message = one_failure(run)
    # One sentence naming the destination and that it is full, saying what to do.
    assert f"{daily}" in message and "is full" in message, message
    assert "free space" in message and "Traceback" not in message, message
    # Retention never ran, and every earlier archive is there as it was; no partial file.
    assert "Keep the daily, weekly and monthly generations" not in run.stdout
    assert tree(small_disk) == before


# --- two restores into one database at once -----------------------------------------------------


def visible(client: pymongo.MongoClient, dbname: str) -> dict[str, list[bytes]]:
    """What users of a database see: every collection but the restore's own, as raw BSON."""
    raw = CodecOptions(document_class=RawBSONDocument)
    db = client[dbname]
    return {
        name: [d.raw for d in db.get_collection(name, raw).find(sort=[("_id", 1)])]
        for name in sorted(db.list_collection_names())
        if not name.startswith(restore.RESERVED_PREFIX)
    }


def reserved(client: pymongo.MongoClient, dbname: str) -> list[str]:
    return sorted(
        n for n in client[dbname].list_collection_names() if n.startswith(restore.RESERVED_PREFIX)
    )


@pytest.fixture
def two_backups(mongo_client, fresh_db_name, tmp_path):
    """Backups A and B of one source database (different data), and a target database with
    data of its own. Returns (a, b, rename, target, {name: data})."""
    source = mongo_client[fresh_db_name]
    target = fresh_db_name + "_target"
    caps = server_capabilities(mongo_client)
    data = {}
    paths = {}
    for version, users in (("a", 40), ("b", 25)):
        source.users.drop()
        source.tenants.drop()
        source.users.insert_many([{"_id": i, "v": version} for i in range(users)])
        source.tenants.insert_many([{"_id": f"t{i}", "v": version} for i in range(users // 5)])
        paths[version] = backup.run_backup(
            mongo_client,
            str(tmp_path / version),
            databases=[fresh_db_name],
            capabilities=caps,
        )["path"]
        data[version] = visible(mongo_client, fresh_db_name)
    mongo_client[target].users.insert_many([{"_id": i, "v": "before"} for i in range(7)])
    data["before"] = visible(mongo_client, target)
    rename = dict(ns_from=[fresh_db_name + ".*"], ns_to=[target + ".*"])
    yield paths["a"], paths["b"], rename, target, data
    mongo_client.drop_database(target)


def spawn_restore(repo_root, uri, src, rename):
    """tests/integration/paused_restore.py in a process of its own (see its docstring)."""
    return subprocess.Popen(
        [
            sys.executable,
            str(repo_root / "tests" / "integration" / "paused_restore.py"),
            uri,
            src,
            rename["ns_from"][0],
            rename["ns_to"][0],
        ],
        env=dict(os.environ, PYTHONPATH=str(repo_root / ".collections")),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_paused_restore(repo_root, uri, src, rename):
    proc = spawn_restore(repo_root, uri, src, rename)
    assert proc.stdout.readline() == "paused\n"
    return proc


def finish(proc):
    """Let a paused restore go on; its exit code, stdout and stderr."""
    try:
        out, err = proc.communicate("go on\n", timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


def test_a_second_restore_into_a_database_is_refused_naming_the_running_one(
    repo_root, ferretdb_uri, mongo_client, two_backups
):
    a, b, rename, target, data = two_backups
    caps = server_capabilities(mongo_client)
    first = start_paused_restore(repo_root, ferretdb_uri, a, rename)
    try:
        with pytest.raises(restore.RestoreLockError) as refused:
            restore.restore(mongo_client, b, capabilities=caps, **rename)
        message = str(refused.value)
        assert f"Another restore is writing to database {target}" in message
        assert f"{socket.gethostname()}:{first.pid}" in message and a in message
        assert "wait for it to finish" in message and "changed nothing" in message
        assert visible(mongo_client, target) == data["before"]
        # A backup of the database now would hold it half restored: refused too.
        with pytest.raises(backup.BackupError, match=f"A restore is writing to database {target}"):
            backup.run_backup(mongo_client, str(Path(a).parent / "during"), databases=[target])
        assert not (Path(a).parent / "during").exists()

    finally:
        code, out, err = finish(first)
    assert (code, out) == (0, "done\n"), err[-2000:]
    # The first restore's data, whole, and nothing of the restores' own left behind.
    assert visible(mongo_client, target) == data["a"]
    assert reserved(mongo_client, target) == []

    # The lock is given back: the second one, run again, goes through.
    result = restore.restore(mongo_client, b, capabilities=caps, **rename)
    assert result["lock"] == {"took_over": []}
    assert visible(mongo_client, target) == data["b"]
    assert reserved(mongo_client, target) == []


def test_the_lock_of_a_killed_restore_is_taken_over_and_its_run_rolled_back(
    repo_root, ferretdb_uri, mongo_client, two_backups
):
    a, b, rename, target, data = two_backups
    caps = server_capabilities(mongo_client)
    first = start_paused_restore(repo_root, ferretdb_uri, a, rename)
    os.kill(first.pid, signal.SIGKILL)
    finish(first)
    assert visible(mongo_client, target) == data["before"]
    assert reserved(mongo_client, target) != []  # its lock, journal and staging collections

    result = restore.restore(mongo_client, b, capabilities=caps, **rename)
    assert [t["owner"] for t in result["lock"]["took_over"]] == [
        f"{socket.gethostname()}:{first.pid}"
    ]
    assert [r["action"] for r in result["recovered"]] == ["rolled_back"]
    assert visible(mongo_client, target) == data["b"]
    assert reserved(mongo_client, target) == []


def test_two_restores_started_at_once_take_turns(
    repo_root, ferretdb_uri, mongo_client, two_backups
):
    """Both race for the lock: one wins (and pauses once staged), the other is refused."""
    a, b, rename, target, data = two_backups
    procs = {
        name: spawn_restore(repo_root, ferretdb_uri, src, rename)
        for name, src in (("a", a), ("b", b))
    }
    # The winner says "paused"; the loser ends (an empty line: end of its output).
    first_lines = {name: proc.stdout.readline() for name, proc in procs.items()}
    assert sorted(first_lines.values()) == ["", "paused\n"], first_lines
    results = {name: finish(proc) for name, proc in procs.items()}
    winner = next(name for name, line in first_lines.items() if line)
    loser = "b" if winner == "a" else "a"
    assert results[winner][:2] == (0, "done\n"), results[winner][2][-2000:]
    assert results[loser][0] != 0
    assert "RestoreLockError: Another restore is writing to database" in results[loser][2]
    assert visible(mongo_client, target) == data[winner]
    assert reserved(mongo_client, target) == []


def test_a_lock_held_from_another_machine_is_refused_with_how_to_clear_it(
    ansible, ferretdb_uri, mongo_client, two_backups
):
    a, b, rename, target, data = two_backups
    caps = server_capabilities(mongo_client)
    journal = mongo_client[target][restore.JOURNAL]
    journal.insert_one(
        {
            "_id": "lock",
            "kind": "lock",
            "owner": "other-laptop:4242",
            "host": "other-laptop",
            "pid": 4242,
            "token": "0" * 32,
            "src": "/elsewhere/mongodb-2026-01-01.tar.gz",
            "started": datetime.datetime.now(datetime.UTC),
        }
    )
    # Through the module, as a user meets it: one sentence, no traceback.
    message = one_failure(
        ansible(
            "ansible",
            *("localhost", "-m", "vhvcorp.devtools.mongodb_restore"),
            *("-a", json.dumps(dict(uri=ferretdb_uri, src=a, **rename))),
            env=JSON_RESULTS,
        )
    )
    assert message.startswith(f"Another restore is writing to database {target} "), message
    assert "Traceback" not in message and "\n" not in message, message
    assert "other-laptop:4242" in message and "/elsewhere/mongodb-2026-01-01.tar.gz" in message
    clear = f"db.getSiblingDB('{target}').{restore.JOURNAL}.deleteOne({{_id: 'lock'}})"
    assert clear in message, message
    assert visible(mongo_client, target) == data["before"]

    journal.delete_one({"_id": "lock"})  # what the message says to do
    restore.restore(mongo_client, a, capabilities=caps, **rename)
    assert visible(mongo_client, target) == data["a"]
    assert reserved(mongo_client, target) == []


# --- the server restarts in the middle of a restore ---------------------------------------------


def _kill_when_staging_fills(server, uri, dbname, stop):
    """Kill ``server`` once a staging collection in ``dbname`` holds documents (the restore is
    loading): from outside, as an operator's restart would come."""
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=2000)
    try:
        while not stop.is_set():
            names = client[dbname].list_collection_names()
            staging = [n for n in names if n.startswith(restore.RESERVED_PREFIX + "staging")]
            if any(client[dbname][n].find_one() is not None for n in staging):
                server.kill()
                return
            time.sleep(0.01)
    finally:
        client.close()


@pytest.mark.parametrize("when", ["loading", "staged", "aside"])
def test_a_server_restarted_mid_restore_loses_nothing(private_ferretdb, tmp_path, when):
    """The server is killed while the restore loads (before its commit: the target stays as
    it was), between two collections, or while it swaps (after its commit: the next run
    finishes it). Restarted on the same data, nothing is lost."""
    client = pymongo.MongoClient(private_ferretdb.uri, serverSelectionTimeoutMS=2000)
    caps = server_capabilities(client)
    # 20 MB to restore when the kill comes from outside: loading takes seconds, so it lands
    # mid-load (the first insert carries 8 MiB). The fault hook needs no more than a little.
    payload = "x" * 1000
    total = 20_000 if when == "loading" else 2_000
    for start in range(0, total, 2_000):
        client.src.users.insert_many(
            [{"_id": i, "p": payload} for i in range(start, start + 2_000)]
        )
    client.src.tenants.insert_many([{"_id": i, "v": "new"} for i in range(50)])
    new = visible(client, "src")
    client.dst.users.insert_many([{"_id": i, "v": "old"} for i in range(100)])
    client.dst.tenants.insert_many([{"_id": i, "v": "old"} for i in range(5)])
    before = visible(client, "dst")
    archive = backup.run_backup(client, str(tmp_path / "b"), databases=["src"])["path"]
    rename = dict(ns_from=["src.*"], ns_to=["dst.*"])

    stop = threading.Event()
    watcher = None
    if when == "loading":
        watcher = threading.Thread(
            target=_kill_when_staging_fills,
            args=(private_ferretdb, private_ferretdb.uri, "dst", stop),
        )
        watcher.start()
    else:

        def kill_at(step, info):
            if step == when and private_ferretdb.proc.poll() is None:
                private_ferretdb.kill()

        restore.FAULT_HOOK = kill_at
    try:
        with pytest.raises(restore.RestoreError) as failed:
            restore.restore(client, archive, capabilities=caps, **rename)
    finally:
        restore.FAULT_HOOK = None
        stop.set()
        if watcher is not None:
            watcher.join()
        client.close()
    assert private_ferretdb.proc.poll() is not None  # it died mid-restore
    message = str(failed.value)
    assert "Topology" not in message and len(message) < 700, message
    if when == "aside":
        assert "committed" in message and "nothing is lost" in message, message
        assert "recover: true" in message, message
    else:
        assert "nothing was replaced" in message and "run the restore again" in message, message

    private_ferretdb.start()
    client = pymongo.MongoClient(private_ferretdb.uri, serverSelectionTimeoutMS=2000)
    try:
        if when == "aside":
            # Committed: the first collection is set aside mid-swap (absent), the other not
            # swapped yet; no collection holds half of anything, and recovery finishes.
            seen = visible(client, "dst")
            assert len(seen) == 1 and all(seen[n] == before[n] for n in seen), sorted(seen)
            actions = [r["action"] for r in restore.recover(client)]
            assert actions == ["rolled_forward"]
        else:
            assert visible(client, "dst") == before
            result = restore.restore(client, archive, capabilities=caps, **rename)
            assert [r["action"] for r in result["recovered"]] == ["rolled_back"]
            assert [t["owner"] for t in result["lock"]["took_over"]] == [
                f"{socket.gethostname()}:{os.getpid()}"
            ]
        assert visible(client, "dst") == new
        assert reserved(client, "dst") == []
    finally:
        client.close()


# --- a backup or a reset while a migration holds its lock ---------------------------------------

ROLE_FILES = Path(__file__).resolve().parents[2] / "roles" / "database" / "files"
MIGRATIONS = str(ROLE_FILES / "migrations")


def test_a_backup_is_refused_while_a_migration_holds_the_lock(
    mongo_client, fresh_db_name, tmp_path
):
    db = mongo_client[fresh_db_name]
    db.users.insert_many([{"_id": i} for i in range(10)])
    dest = tmp_path / "daily"
    with _migration_lock.MigrationLock(db, owner="laptop:4242:abcd"):  # a migrate run works
        with pytest.raises(backup.BackupError) as refused:
            backup.run_backup(mongo_client, str(dest), databases=[fresh_db_name])
        # Check mode says the same.
        with pytest.raises(backup.BackupError):
            backup.run_backup(mongo_client, str(dest), databases=[fresh_db_name], check_mode=True)
    message = str(refused.value)
    assert f"A migration is running on database {fresh_db_name} (owner laptop:4242:abcd" in message
    assert "back up again once it has finished" in message
    assert not dest.exists()
    # The lock given back, the backup goes through.
    made = backup.run_backup(mongo_client, str(dest), databases=[fresh_db_name])
    assert made["documents"] == 10


def test_a_migration_that_runs_during_a_backup_makes_it_not_kept(
    paused_backup, mongo_client, fresh_db_name, tmp_path
):
    db = mongo_client[fresh_db_name]
    db.users.insert_many([{"_id": i, "email": f"u{i}@localhost"} for i in range(500)])
    dest = tmp_path / "daily"
    earlier = backup.run_backup(
        mongo_client, str(dest), name="mongodb-2026-01-01.tar.gz", databases=[fresh_db_name]
    )
    before = tree(dest)
    migrated = {}

    def migrate_now():
        migrated.update(mongodb_migrate.migrate(db, MIGRATIONS))

    real = paused_backup.pause_backups(1, migrate_now)
    try:
        with pytest.raises(backup.BackupError) as refused:
            backup.run_backup(mongo_client, str(dest), databases=[fresh_db_name], batch_size=100)
    finally:
        backup._collections = real
    assert migrated["changed"] is True  # the migration did run mid-backup
    message = str(refused.value)
    assert f"A migration ran on database {fresh_db_name} while it was being backed up" in message
    assert "the backup was not kept" in message and "back up again" in message
    assert tree(dest) == before and Path(earlier["path"]).name in before


def test_a_migration_started_during_a_reset_waits_for_it(mongo_client, fresh_db_name):
    db = mongo_client[fresh_db_name]
    mongodb_migrate.migrate(db, MIGRATIONS)
    db.users.insert_one({"_id": "user-local"})
    fixtures = mongodb_seed.load_fixtures(str(ROLE_FILES / "fixtures"))
    during = {}

    def seed_while_a_migration_starts(**kwargs):
        # The reset has dropped the collections (migrations among them) and reseeds now: a
        # migration started at this moment must not run into the half-reset database.
        with pytest.raises(_migration_lock.MigrationLockError) as waited:
            mongodb_migrate.migrate(db, MIGRATIONS, lock_timeout=0.5)
        during["message"] = str(waited.value)
        during["records"] = db.migrations.count_documents({})
        return mongodb_seed.seed(db, fixtures, **kwargs)

    result = mongodb_reset.reset(db, confirm=True, reseed=seed_while_a_migration_starts)
    assert result["changed"] is True
    assert "owner reset " in during["message"] and "lock_timeout=0.5s" in during["message"]
    assert during["records"] == 0  # it ran nothing
    # The reset gave the lock back: the migration, run again, applies.
    assert mongodb_migrate.migrate(db, MIGRATIONS)["changed"] is True


def test_a_lock_held_by_a_reset_is_named_as_a_reset(mongo_client, fresh_db_name, tmp_path):
    """mongodb_reset takes the migrations' lock: a migrate run or a backup refused while a
    reset holds it names the reset, not a migration."""
    db = mongo_client[fresh_db_name]
    db.users.insert_one({"_id": "user-local"})
    during = {}

    def refused_while_the_reset_holds_the_lock(**kwargs):
        with pytest.raises(_migration_lock.MigrationLockError) as waited:
            mongodb_migrate.migrate(db, MIGRATIONS, lock_timeout=0)
        during["migrate"] = str(waited.value)
        with pytest.raises(backup.BackupError) as refused:
            backup.run_backup(mongo_client, str(tmp_path / "daily"), databases=[fresh_db_name])
        during["backup"] = str(refused.value)
        with pytest.raises(mongodb_reset.ResetError) as second:
            mongodb_reset.reset(db, confirm=True)
        during["reset"] = str(second.value)
        return {"changed": False}

    mongodb_reset.reset(db, confirm=True, reseed=refused_while_the_reset_holds_the_lock)
    assert f"Another reset run holds the lock on database '{fresh_db_name}'" in during["migrate"]
    assert "migrate run" not in during["migrate"]
    assert f"A reset is running on database {fresh_db_name} (owner reset " in during["backup"]
    assert "A reset run (owner reset " in during["reset"] and "migrat" not in during["reset"]
