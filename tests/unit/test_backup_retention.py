"""Retention: which backups each generation keeps (on generated dates), and what apply() does
to a real backup root of small real backups."""

import datetime
import os
import shutil

import bson
import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils import (
    _archive_write_backup,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils import backup_retention as retention

PATTERN = retention.name_pattern("mongodb")


def day(text):
    return datetime.date.fromisoformat(text)


def backups_for(dates, times=None):
    names = []
    for d in dates:
        names.append(f"mongodb-{d}.tar.gz")
    for d, t in times or []:
        names.append(f"mongodb-{d}T{t}.tar.gz")
    return [retention.parse_name(n, PATTERN) for n in names]


def consecutive(last, count):
    end = day(last)
    return [(end - datetime.timedelta(days=i)).isoformat() for i in range(count)]


def names(dates):
    return [f"mongodb-{d}.tar.gz" for d in dates]


# --- the selection ------------------------------------------------------------------------------


def test_sixty_consecutive_days():
    keep = retention.select(backups_for(consecutive("2026-11-24", 60)), 7, 4, 12)
    assert keep["daily"] == names(consecutive("2026-11-24", 7))
    # ISO weeks start on Monday: 2026-11-24 is a Tuesday.
    assert keep["weekly"] == names(["2026-11-24", "2026-11-22", "2026-11-15", "2026-11-08"])
    # 60 days back reach 2026-09-26: three months, each with its newest backup.
    assert keep["monthly"] == names(["2026-11-24", "2026-10-31", "2026-09-30"])
    assert keep["newest"] == "mongodb-2026-11-24.tar.gz"
    assert keep["bad"] == []


def test_sparse_backups_and_times_of_day():
    backups = backups_for(
        ["2026-11-02", "2026-10-05", "2026-08-30", "2025-12-31"],
        times=[("2026-11-02", "180000"), ("2026-11-02", "060000")],
    )
    keep = retention.select(backups, daily=2, weekly=3, monthly=12)
    assert keep["daily"] == ["mongodb-2026-11-02T180000.tar.gz", "mongodb-2026-11-02T060000.tar.gz"]
    assert keep["weekly"] == [
        "mongodb-2026-11-02T180000.tar.gz",
        "mongodb-2026-10-05.tar.gz",
        "mongodb-2026-08-30.tar.gz",
    ]
    assert keep["monthly"] == [
        "mongodb-2026-11-02T180000.tar.gz",
        "mongodb-2026-10-05.tar.gz",
        "mongodb-2026-08-30.tar.gz",
        "mongodb-2025-12-31.tar.gz",
    ]


def test_iso_week_spanning_the_new_year():
    dates = ["2027-01-04", "2027-01-03", "2027-01-01", "2026-12-31", "2026-12-28", "2026-12-27"]
    keep = retention.select(backups_for(dates), daily=0, weekly=3, monthly=3)
    # 2026-12-28 .. 2027-01-03 is ISO week 53 of 2026: one weekly backup for it.
    assert keep["weekly"] == names(["2027-01-04", "2027-01-03", "2026-12-27"])
    assert keep["monthly"] == names(["2027-01-04", "2026-12-31"])


def test_bad_backups_are_passed_over_and_the_newest_good_one_is_kept():
    dates = consecutive("2026-11-24", 30)  # back to 2026-10-26
    bad = {"mongodb-2026-11-24.tar.gz", "mongodb-2026-11-22.tar.gz", "mongodb-2026-10-31.tar.gz"}
    keep = retention.select(backups_for(dates), 3, 2, 2, is_good=lambda b: b.name not in bad)
    assert keep["newest"] == "mongodb-2026-11-23.tar.gz"
    assert keep["daily"] == names(["2026-11-23", "2026-11-21", "2026-11-20"])
    assert keep["weekly"] == names(["2026-11-23", "2026-11-21"])  # 11-22 (Sunday) is bad
    assert keep["monthly"] == names(["2026-11-23", "2026-10-30"])  # 10-31 is bad
    assert set(keep["bad"]) == bad


def test_zero_generations_still_keep_the_newest_good_backup():
    keep = retention.select(backups_for(consecutive("2026-11-24", 5)), 0, 0, 0)
    assert keep["daily"] == ["mongodb-2026-11-24.tar.gz"]
    assert keep["weekly"] == [] and keep["monthly"] == []


def test_verification_is_asked_lazily_newest_first():
    asked = []

    def is_good(backup):
        asked.append(backup.name)
        return True

    retention.select(backups_for(consecutive("2026-11-24", 400)), 7, 4, 12, is_good=is_good)
    assert asked[0] == "mongodb-2026-11-24.tar.gz"
    # 7 dailies, then only the newest of each older week and month.
    assert len(asked) == len(set(asked)) < 30


def test_names_that_do_not_match_are_not_backups():
    for name in (
        "mongodb-2026-13-01.tar.gz",
        "mongodb-2026-11-24.tar",
        "other-2026-11-24.tar.gz",
        ".mongodb-2026-11-24.tar.gz.4242.deadbeef.partial",
        "mongodb-2026-11-24.tar.gz.1234abcd.tmp",
    ):
        assert retention.parse_name(name, PATTERN) is None, name


# --- apply() on a real backup root --------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One small, valid backup, copied under each dated name."""
    path = tmp_path_factory.mktemp("template") / "backup.tar.gz"
    docs = b"".join(bson.encode({"_id": i}) for i in range(10))
    with open(path, "wb") as out:
        writer = _archive_write_backup.TarballWriter(out)
        _archive_write_backup.write_backup(
            writer,
            [_archive_write_backup.BackupCollection("go_dev", "users", [docs])],
            {"version": "7.0.42"},
            "2026-11-24T02:00:00Z",
        )
    return path


def make_root(tmp_path, template, dates):
    daily = tmp_path / "backups" / "daily"
    daily.mkdir(parents=True)
    for d in dates:
        shutil.copyfile(template, daily / (f"mongodb-{d}.tar.gz"))
    return tmp_path / "backups"


def listing(root):
    return {
        g: sorted(os.listdir(root / g)) if (root / g).is_dir() else []
        for g in retention.GENERATIONS
    }


def test_apply_keeps_generations_links_them_and_a_rerun_changes_nothing(tmp_path, template):
    dates = consecutive("2026-11-24", 40)
    root = make_root(tmp_path, template, dates)
    (root / "daily" / "notes.txt").write_text("not a backup")

    preview = retention.apply(str(root), check_mode=True)
    assert listing(root)["weekly"] == [] and len(listing(root)["daily"]) == 41

    result = retention.apply(str(root))
    assert result["deleted"] == preview["deleted"] and result["promoted"] == preview["promoted"]
    after = listing(root)
    assert after["daily"] == sorted(names(consecutive("2026-11-24", 7)) + ["notes.txt"])
    assert after["weekly"] == sorted(
        names(["2026-11-24", "2026-11-22", "2026-11-15", "2026-11-08"])
    )
    assert after["monthly"] == sorted(names(["2026-11-24", "2026-10-31"]))
    assert len(result["deleted"]) == 40 - 7
    assert result["newest"] == str(root / "daily" / "mongodb-2026-11-24.tar.gz")
    assert result["invalid"] == []
    # Promotion is a hard link: one file, three names.
    assert (
        os.stat(root / "weekly" / "mongodb-2026-11-24.tar.gz").st_ino
        == os.stat(root / "daily" / "mongodb-2026-11-24.tar.gz").st_ino
    )
    assert (root / ".verified.json").is_file()

    again = retention.apply(str(root))
    assert not again["changed"] and again["deleted"] == [] and again["promoted"] == []
    assert listing(root) == after


def test_apply_never_deletes_the_newest_good_backup(tmp_path, template):
    root = make_root(tmp_path, template, consecutive("2026-11-24", 3))
    result = retention.apply(str(root), daily=0, weekly=0, monthly=0)
    assert listing(root)["daily"] == ["mongodb-2026-11-24.tar.gz"]
    assert len(result["deleted"]) == 2


def test_apply_passes_over_a_corrupt_backup_and_reports_it(tmp_path, template):
    root = make_root(tmp_path, template, consecutive("2026-11-24", 10))
    newest = root / "daily" / "mongodb-2026-11-24.tar.gz"
    data = bytearray(newest.read_bytes())
    newest.write_bytes(bytes(data[: len(data) // 2]))  # truncated

    result = retention.apply(str(root), daily=3, weekly=1, monthly=1)
    assert result["newest"] == str(root / "daily" / "mongodb-2026-11-23.tar.gz")
    assert result["kept"]["daily"] == names(["2026-11-23", "2026-11-22", "2026-11-21"])
    assert [i["path"] for i in result["invalid"]] == [str(newest)]
    assert "truncated" in result["invalid"][0]["error"]
    assert newest.exists()  # reported, not deleted
    assert listing(root)["weekly"] == names(["2026-11-23"])

    cleaned = retention.apply(str(root), daily=3, weekly=1, monthly=1, delete_invalid=True)
    assert str(newest) in cleaned["deleted"] and not newest.exists()


def test_apply_refuses_a_missing_root_and_negative_counts(tmp_path):
    with pytest.raises(retention.RetentionError, match="not a directory"):
        retention.apply(str(tmp_path / "nowhere"))
    with pytest.raises(retention.RetentionError, match="Option `weekly` is -1"):
        retention.apply(str(tmp_path), weekly=-1)
