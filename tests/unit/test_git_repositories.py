"""git_repositories' pure logic: URL redaction, input checks, the status decisions, its docs."""

import pytest
import yaml
from ansible_collections.vhvcorp.devtools.plugins.module_utils import git_repositories as gr
from ansible_collections.vhvcorp.devtools.plugins.modules import git_repositories as module

# --- credentials ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://bob:s3cret@github.com/vhvcorp/x.git", "https://github.com/vhvcorp/x.git"),
        ("https://ghp_token123@github.com/vhvcorp/x.git", "https://github.com/vhvcorp/x.git"),
        ("http://u:p%40ss@127.0.0.1:8080/x.git", "http://127.0.0.1:8080/x.git"),
        # A password with a raw '@' in it: everything up to the last '@' goes.
        ("https://bob:p@ss@host/x.git", "https://host/x.git"),
        ("ssh://user:pw@host/x.git", "ssh://host/x.git"),
        # An SSH user name alone is no secret.
        ("ssh://git@github.com/vhvcorp/x.git", "ssh://git@github.com/vhvcorp/x.git"),
        ("git@github.com:vhvcorp/x.git", "git@github.com:vhvcorp/x.git"),
        ("file:///srv/git/x.git", "file:///srv/git/x.git"),
        (
            "fatal: unable to access 'https://bob:s3cret@h/x.git/': refused; "
            "also https://tok@h/y.git",
            "fatal: unable to access 'https://h/x.git/': refused; also https://h/y.git",
        ),
    ],
)
def test_redact_url_strips_credentials_from_every_url_in_a_text(text, expected):
    assert gr.redact_url(text) == expected


def test_url_secrets_are_the_password_or_token_as_written_and_decoded():
    assert gr.url_secrets("https://bob:p%40ss@host/x.git") == {"p%40ss", "p@ss"}
    assert gr.url_secrets("https://ghp_abc@host/x.git") == {"ghp_abc"}
    assert gr.url_secrets("ssh://git@host/x.git") == set()
    assert gr.url_secrets("git@host:org/x.git") == set()
    assert gr.url_secrets("file:///srv/x.git") == set()


def test_scrub_masks_a_secret_even_outside_a_url():
    secrets = gr.url_secrets("https://bob:p%40ss@host/x.git")
    text = "auth failed for bob with p@ss at https://bob:p%40ss@host/x.git"
    cleaned = gr.scrub(text, secrets)
    assert "p@ss" not in cleaned and "p%40ss" not in cleaned
    assert cleaned == "auth failed for bob with ******** at https://host/x.git"
    assert gr.scrub(None, secrets) is None


# --- remotes and local state ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://github.com/vhvcorp/x.git", "https://github.com/vhvcorp/x", True),
        ("https://github.com/vhvcorp/x.git/", "https://github.com/vhvcorp/x.git", True),
        ("https://tok@github.com/vhvcorp/x.git", "https://github.com/vhvcorp/x.git", True),
        ("https://github.com/vhvcorp/x.git", "https://github.com/vhvcorp/y.git", False),
        ("git@github.com:vhvcorp/x.git", "https://github.com/vhvcorp/x.git", False),
    ],
)
def test_same_remote_ignores_credentials_and_the_git_suffix(a, b, same):
    assert gr.same_remote(a, b) is same


def test_local_state_decides_clone_not_a_clone_or_present(tmp_path):
    path = str(tmp_path / "svc")
    url = "file:///srv/git/svc.git"
    state = gr.local_state
    assert state(False, False, False, None, path, None, url) == "clone"
    assert state(True, True, True, None, path, None, url) == "clone"  # empty directory
    assert state(True, False, False, None, path, None, url) == "not_a_clone"  # a file
    assert state(True, True, False, None, path, None, url) == "not_a_clone"  # not a repo
    # A directory inside some other work tree: git finds that tree's top, not this path.
    assert state(True, True, False, str(tmp_path), path, url, url) == "not_a_clone"
    assert state(True, True, False, path, path, None, url) == "not_a_clone"  # no origin
    assert state(True, True, False, path, path, "file:///other.git", url) == "not_a_clone"
    assert state(True, True, False, path, path, url + "/", url) == "clone_present"


@pytest.mark.parametrize(
    ("head_in_target", "target_in_head", "expected"),
    [(True, False, "fast_forward"), (False, True, "ahead"), (False, False, "diverged")],
)
def test_compare_commits(head_in_target, target_in_head, expected):
    assert gr.compare_commits("a" * 40, "b" * 40, head_in_target, target_in_head) == expected
    assert gr.compare_commits("a" * 40, "a" * 40, True, True) == "unchanged"


def test_summary_counts_every_status_and_changed_means_cloned_or_updated():
    summary, changed = gr.summarize([{"status": "unchanged"}, {"status": "dirty"}])
    assert set(summary) == set(gr.STATUSES)
    assert summary["unchanged"] == 1 and summary["dirty"] == 1 and summary["cloned"] == 0
    assert changed is False
    for status in ("cloned", "updated", "would_clone", "would_update"):
        assert gr.summarize([{"status": status}])[1] is True
    for status in ("diverged", "not_a_clone", "failed"):
        assert gr.summarize([{"status": status}])[1] is False


def test_remote_commit_reads_ls_remote_and_prefers_peeled_tags():
    listing = "\n".join(
        [
            "1" * 40 + "\tHEAD",
            "2" * 40 + "\trefs/heads/main",
            "3" * 40 + "\trefs/tags/v1",
            "4" * 40 + "\trefs/tags/v1^{}",
        ]
    )
    assert gr._remote_commit(listing, "HEAD") == "1" * 40
    assert gr._remote_commit(listing, "main") == "2" * 40
    assert gr._remote_commit(listing, "refs/heads/main") == "2" * 40
    assert gr._remote_commit(listing, "v1") == "4" * 40
    assert gr._remote_commit(listing, "gone") is None


def test_git_error_keeps_the_reason_not_the_boilerplate():
    stderr = (
        "git@github.com: Permission denied (publickey).\n"
        "fatal: Could not read from remote repository.\n\n"
        "Please make sure you have the correct access rights\n"
        "and the repository exists.\n"
    )
    assert gr.GitError(["clone"], 128, stderr).line == (
        "git@github.com: Permission denied (publickey)."
    )
    assert gr.GitError(["fetch"], 128, "fatal: unable to access 'x'\n").line == (
        "unable to access 'x'"
    )
    assert gr.GitError(["fetch"], 1, "").line == "git exited with 1"


def test_git_environment_never_prompts_and_accepts_new_host_keys_when_asked():
    env = gr.git_environment(base={"PATH": "/usr/bin"}, accept_newhostkey=True, ssh_opts="-p 22")
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_SSH_COMMAND"] == (
        "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new -p 22"
    )
    plain = gr.git_environment(base={"GIT_SSH_COMMAND": "ssh -i k"}, accept_newhostkey=False)
    assert plain["GIT_SSH_COMMAND"] == "ssh -i k -o BatchMode=yes"


# --- input ------------------------------------------------------------------------------------


def test_normalize_repositories_accepts_version_or_branch():
    repos = gr.normalize_repositories(
        [
            {"name": "a", "url": " file:///a.git "},
            {"name": "b", "url": "file:///b.git", "branch": "develop"},
            {"name": "c.d", "url": "file:///c.git", "version": None},
        ]
    )
    assert repos == [
        {"name": "a", "url": "file:///a.git", "version": None},
        {"name": "b", "url": "file:///b.git", "version": "develop"},
        {"name": "c.d", "url": "file:///c.git", "version": None},
    ]


@pytest.mark.parametrize(
    ("repositories", "quoted"),
    [
        ([], "non-empty list"),
        ([{"name": "../etc", "url": "file:///a.git"}], "'../etc'"),
        ([{"name": "..", "url": "file:///a.git"}], "'..'"),
        ([{"name": "a/b", "url": "file:///a.git"}], "'a/b'"),
        ([{"name": "a", "url": "x"}, {"name": "a", "url": "y"}], "'a' is given twice"),
        ([{"name": "a", "url": ""}], "url ''"),
        ([{"name": "a", "url": "--upload-pack=evil"}], "--upload-pack=evil"),
        ([{"name": "a", "url": "x", "version": "-b"}], "version '-b'"),
        ([{"name": "a", "url": "x", "version": "v", "branch": "b"}], "both version and branch"),
        ([{"name": "a", "url": "x", "tag": "v1"}], "unknown keys ['tag']"),
        (["https://github.com/x.git"], "not a mapping"),
    ],
)
def test_bad_repositories_are_refused_quoting_the_value(repositories, quoted):
    with pytest.raises(gr.InputError) as caught:
        gr.normalize_repositories(repositories)
    assert quoted in str(caught.value)


def test_a_bad_entry_never_quotes_a_password():
    with pytest.raises(gr.InputError) as caught:
        gr.normalize_repositories([{"name": "a/b", "url": "https://u:hunter22@h/x.git"}])
    with pytest.raises(gr.InputError) as caught_mapping:
        gr.normalize_repositories(["https://u:hunter22@h/x.git"])
    assert "hunter22" not in str(caught.value)
    assert "hunter22" not in str(caught_mapping.value)


@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [
        ({"update": "rebase"}, "'rebase'"),
        ({"parallel": 0}, "`parallel` is 0"),
        ({"dest": "relative/dir"}, "'relative/dir'"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(tmp_path, kwargs, quoted):
    options = {"dest": str(tmp_path / "ws"), **kwargs}
    with pytest.raises(gr.InputError) as caught:
        gr.sync_repositories([{"name": "a", "url": "file:///nowhere.git"}], **options)
    assert quoted in str(caught.value)
    assert not (tmp_path / "ws").exists()


# --- the module's documentation (options against the spec: tests/unit/test_module_docs.py) ---


def test_attributes_examples_and_return_are_complete():
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["attributes"]["diff_mode"]["support"] == "none"
    examples = yaml.safe_load(module.EXAMPLES)
    assert all(task["name"].endswith(".") for task in examples)
    returned = yaml.safe_load(module.RETURN)
    assert set(returned) == {"repositories", "summary"}
    entry_keys = set(returned["repositories"]["contains"])
    assert {"name", "url", "path", "version", "status", "before", "after", "msg"} <= entry_keys
    assert set(returned["summary"]["sample"]) == set(gr.STATUSES)
