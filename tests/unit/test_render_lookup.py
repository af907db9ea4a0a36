"""The render lookup: the same text as ansible.builtin.template's lookup, which the roles used
before (the header, variables of the play and of the call, includes, backslashes), without
that lookup's deep copy of every variable."""

import json


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


def lookups(play_tasks, tmp_path, call: str):
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
        env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"},
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
