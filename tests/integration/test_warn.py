"""vhvcorp.devtools.warn: real Ansible warnings, on the default and the json callbacks."""

import json

import pytest

PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Warn once, commas and all.
      vhvcorp.devtools.warn:
        msg: "helm was not installed: no brew, no go"
      register: one
    - name: Warn twice in one task; an empty message is dropped.
      vhvcorp.devtools.warn:
        msg: ["2 CPUs (4 recommended)", "", "3900 MB of memory (8000 recommended)"]
      register: two
    - name: Warn nothing.
      vhvcorp.devtools.warn:
        msg: []
      register: none_at_all
    - name: Check what was registered.
      ansible.builtin.assert:
        that:
          - one is not changed and two is not changed and none_at_all is not changed
          - 'one.msg == ["helm was not installed: no brew, no go"]'
          - two.msg == ["2 CPUs (4 recommended)", "3900 MB of memory (8000 recommended)"]
          - none_at_all.msg == []
"""

WARNED = [
    "helm was not installed: no brew, no go",
    "2 CPUs (4 recommended)",
    "3900 MB of memory (8000 recommended)",
]


def play(ansible, tmp_path, *args, callback="default", playbook=PLAYBOOK):
    path = tmp_path / "warn.yml"
    path.write_text(playbook)
    return ansible("ansible-playbook", *args, path, env={"ANSIBLE_STDOUT_CALLBACK": callback})


def warning_lines(result):
    return [
        line.removeprefix("[WARNING]: ")
        for line in (result.stdout + result.stderr).splitlines()
        if line.startswith("[WARNING]: ")
    ]


@pytest.mark.parametrize("mode", [[], ["--check"]])
def test_the_default_callback_shows_each_message_as_a_warning(ansible, tmp_path, mode):
    result = play(ansible, tmp_path, *mode)
    assert result.returncode == 0, result.stdout + result.stderr
    assert warning_lines(result) == WARNED
    assert "ok=4    changed=0" in result.stdout


@pytest.mark.parametrize("mode", [[], ["--check"]])
def test_the_json_callback_keeps_the_warnings_in_each_result(ansible, tmp_path, mode):
    result = play(ansible, tmp_path, *mode, callback="json")
    assert result.returncode == 0, result.stdout + result.stderr
    tasks = {
        task["task"]["name"]: task["hosts"]["localhost"]
        for task in json.loads(result.stdout)["plays"][0]["tasks"]
    }
    assert tasks["Warn once, commas and all."]["warnings"] == WARNED[:1]
    assert tasks["Warn twice in one task; an empty message is dropped."]["warnings"] == WARNED[1:]
    assert "warnings" not in tasks["Warn nothing."]
    assert tasks["Warn nothing."]["msg"] == []
    assert not any(r.get("changed") for r in tasks.values())


def test_an_empty_list_warns_nothing(ansible, tmp_path):
    playbook = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - vhvcorp.devtools.warn:
        msg: "{{ [] }}"
"""
    result = play(ansible, tmp_path, playbook=playbook)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr
    assert "ok=1    changed=0" in result.stdout


def test_a_message_that_is_not_text_fails_with_what_to_do(ansible, tmp_path):
    playbook = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - vhvcorp.devtools.warn:
        msg: [{tool: helm}]
"""
    result = play(ansible, tmp_path, playbook=playbook)
    assert result.returncode == 2
    assert (
        "each item of msg must be a string, and {'tool': 'helm'} is not; join or format it first."
        in result.stdout + result.stderr
    )
