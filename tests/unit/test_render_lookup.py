"""The render lookup: the same text as ansible.builtin.template's lookup, which the roles used
before (the header, variables of the play and of the call, includes, backslashes), without
that lookup's deep copy of every variable."""

import json
import os
import pwd
import time


def write_templates(directory):
    templates = directory / "templates"
    templates.mkdir()
    (templates / "page.j2").write_text(
        "# {{ ansible_managed }}\n"
        "name={{ name }} port={{ port | default('none') }}\n"
        "{{ 'a\\\\b' }} {{ items | join(',') }}\n"
        '{% include "part.j2" %}'
    )
    (templates / "part.j2").write_text("part of {{ name }}\n")


def lookups(play_tasks, tmp_path, call: str, env: dict | None = None):
    """Runs both lookups with these arguments; returns (ours, the builtin's)."""
    write_templates(tmp_path)
    result = play_tasks(
        [
            {
                "ansible.builtin.debug": {"msg": "{{ [ours, builtin] | to_json }}"},
                "vars": {
                    "name": "auth",
                    "items": [1, 2],
                    "ours": "{{ lookup('vhvcorp.devtools.render', " + call + ") }}",
                    "builtin": "{{ lookup('ansible.builtin.template', " + call + ") }}",
                },
            }
        ],
        env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", **(env or {})},
    )
    assert result.returncode == 0, result.stdout[-2000:]
    report, _ = json.JSONDecoder().raw_decode(result.stdout)
    ours, builtin = json.loads(report["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"])
    return ours, builtin


def test_it_renders_what_the_builtin_lookup_renders(play_tasks, tmp_path):
    ours, builtin = lookups(play_tasks, tmp_path, "'page.j2'")
    assert ours == builtin
    assert ours == "# Ansible managed\nname=auth port=none\na\\b 1,2\npart of auth"


def test_template_vars_are_laid_over_the_plays_variables(play_tasks, tmp_path):
    ours, builtin = lookups(
        play_tasks, tmp_path, "'page.j2', template_vars={'port': 8081, 'name': 'user'}"
    )
    assert ours == builtin
    assert "name=user port=8081" in ours
    assert "part of user" in ours


def test_an_ansible_managed_setting_with_placeholders_is_filled_in_as_the_builtin_does(
    play_tasks, tmp_path, repo_root
):
    config = tmp_path / "ansible.cfg"
    config.write_text(
        "[defaults]\n"
        f"collections_path = {repo_root / '.collections'}\n"
        "ansible_managed = Managed: {file} on {host} by {uid}, %Y\n"
    )
    ours, builtin = lookups(play_tasks, tmp_path, "'page.j2'", env={"ANSIBLE_CONFIG": str(config)})
    assert ours == builtin
    year = time.localtime(os.stat(tmp_path / "templates/page.j2").st_mtime).tm_year
    owner = pwd.getpwuid(os.getuid()).pw_name
    assert ours.startswith(f"# Managed: page.j2 on {os.uname()[1]} by {owner}, {year}\n")


def test_a_missing_template_says_where_it_was_looked_for(play_tasks):
    result = play_tasks(
        [
            {
                "ansible.builtin.debug": {
                    "msg": "{{ lookup('vhvcorp.devtools.render', 'nowhere.j2') }}"
                }
            }
        ]
    )
    assert result.returncode != 0
    assert "The template nowhere.j2 is not in the role's templates/ directory" in result.stdout
