"""write_files: many files and directories brought to their state in one pass."""

import os
import stat

import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils.write_files import (
    WriteFilesError,
    apply,
)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_creates_files_and_parents_then_a_rerun_changes_nothing(tmp_path):
    entries = [
        {"path": str(tmp_path / "a/b/conf.yml"), "content": "x: 1\n", "mode": "0640"},
        {"path": str(tmp_path / "logs"), "state": "directory", "mode": "0750"},
        {"path": str(tmp_path / "run.sh"), "content": "#!/bin/sh\n", "mode": "0755"},
    ]
    results, diffs, created = apply(entries)
    assert [r["action"] for r in results] == ["created", "created", "created"]
    assert (tmp_path / "a/b/conf.yml").read_text() == "x: 1\n"
    assert mode_of(tmp_path / "a/b/conf.yml") == 0o640
    assert mode_of(tmp_path / "logs") == 0o750
    assert mode_of(tmp_path / "run.sh") == 0o755
    assert created == [str(tmp_path / "a"), str(tmp_path / "a/b"), str(tmp_path / "logs")]
    assert mode_of(tmp_path / "a/b") == 0o755
    assert [d["after"] for d in diffs] == ["x: 1\n", "#!/bin/sh\n"]

    results, diffs, created = apply(entries)
    assert [r["changed"] for r in results] == [False, False, False]
    assert diffs == [] and created == []


def test_only_differing_content_or_mode_is_written(tmp_path):
    same = tmp_path / "same.txt"
    other = tmp_path / "other.txt"
    remode = tmp_path / "remode.txt"
    for path in (same, other, remode):
        path.write_text("old\n")
        path.chmod(0o644)
    inode = same.stat().st_ino
    results, diffs, _ = apply(
        [
            {"path": str(same), "content": "old\n"},
            {"path": str(other), "content": "new\n"},
            {"path": str(remode), "content": "old\n", "mode": "0600"},
        ]
    )
    assert [r["action"] for r in results] == ["unchanged", "updated", "mode"]
    assert same.stat().st_ino == inode
    assert other.read_text() == "new\n"
    assert mode_of(remode) == 0o600
    assert diffs == [
        {
            "before_header": str(other),
            "after_header": str(other),
            "before": "old\n",
            "after": "new\n",
        }
    ]


def test_a_longer_file_with_the_same_start_is_rewritten(tmp_path):
    path = tmp_path / "f"
    path.write_text("abcdef")
    results, diffs, _ = apply([{"path": str(path), "content": "abc"}])
    assert results[0]["action"] == "updated"
    assert path.read_text() == "abc"
    assert (diffs[0]["before"], diffs[0]["after"]) == ("abcdef", "abc")


def test_force_false_keeps_the_users_file(tmp_path):
    path = tmp_path / "compose.override.yml"
    path.write_text("services: {mine: {}}\n")
    results, diffs, _ = apply([{"path": str(path), "content": "services: {}\n", "force": False}])
    assert results[0]["action"] == "kept" and not results[0]["changed"]
    assert path.read_text() == "services: {mine: {}}\n" and diffs == []


def test_check_mode_reports_and_writes_nothing(tmp_path):
    existing = tmp_path / "existing"
    existing.write_text("old")
    results, diffs, created = apply(
        [
            {"path": str(tmp_path / "new/dir/file"), "content": "x"},
            {"path": str(existing), "content": "new"},
            {"path": str(tmp_path / "d"), "state": "directory"},
        ],
        check_mode=True,
    )
    assert [r["action"] for r in results] == ["created", "updated", "created"]
    assert len(diffs) == 2 and created == [
        str(tmp_path / "new"),
        str(tmp_path / "new/dir"),
        str(tmp_path / "d"),
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]
    assert existing.read_text() == "old"


def test_an_existing_directory_keeps_its_mode_unless_one_is_given(tmp_path):
    directory = tmp_path / "d"
    directory.mkdir()
    directory.chmod(0o700)
    results, _, _ = apply([{"path": str(directory), "state": "directory"}])
    assert results[0]["action"] == "unchanged" and mode_of(directory) == 0o700
    results, _, _ = apply([{"path": str(directory), "state": "directory", "mode": "0755"}])
    assert results[0]["action"] == "mode" and mode_of(directory) == 0o755


def test_no_temporary_file_is_left_behind(tmp_path):
    apply([{"path": str(tmp_path / "f"), "content": "one"}])
    apply([{"path": str(tmp_path / "f"), "content": "two"}])
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"path": "relative/file", "content": "x"}, "relative; give an absolute path"),
        ({"path": "/tmp/x", "content": "x", "mode": "rw-r--r--"}, "is not an octal number"),
        ({"path": "/tmp/x"}, "give its content"),
    ],
)
def test_bad_entries_are_refused_with_what_to_do(entry, message):
    with pytest.raises(WriteFilesError, match=message):
        apply([entry], check_mode=True)


def test_a_file_in_the_way_of_a_directory_is_refused(tmp_path):
    (tmp_path / "blocker").write_text("")
    with pytest.raises(WriteFilesError, match="is not a directory, so .* cannot be written"):
        apply([{"path": str(tmp_path / "blocker/sub/file"), "content": "x"}])
    with pytest.raises(WriteFilesError, match="is not a directory; move it away"):
        apply([{"path": str(tmp_path / "blocker"), "state": "directory"}])


def test_a_link_is_not_written_through(tmp_path):
    target = tmp_path / "target"
    target.write_text("keep")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(WriteFilesError, match="not a regular file"):
        apply([{"path": str(tmp_path / "link"), "content": "x"}])
    assert target.read_text() == "keep"
