"""The real modules, run by ansible-playbook from the checkout, against the harness's FerretDB."""

import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb_reset import (
    PLATFORM_COLLECTIONS,
)

PLAYBOOK = textwrap.dedent(
    """\
    - name: Run the MongoDB modules like the db-*.yml playbooks do.
      hosts: localhost
      gather_facts: false
      tasks:
        - name: Seed.
          vhvcorp.devtools.mongodb_seed:
            uri: "{{ uri }}"
            database: "{{ database }}"
            src: "{{ fixtures }}"
          register: seed

        - name: Seed again.
          vhvcorp.devtools.mongodb_seed:
            uri: "{{ uri }}"
            database: "{{ database }}"
            src: "{{ fixtures }}"
          register: reseed

        - name: Seed another database in check mode.
          vhvcorp.devtools.mongodb_seed:
            uri: "{{ uri }}"
            database: "{{ check_database }}"
            src: "{{ fixtures }}"
          check_mode: true
          register: preview

        - name: The rerun changed nothing and check mode saw what a real run does.
          ansible.builtin.assert:
            that:
              - seed is changed
              - seed.inserted == 20 and seed.updated == 0
              - seed.collections.users.indexes_created | length == 3
              - "'email_1' in seed.collections.users.indexes_created"
              - reseed is not changed
              - reseed.inserted == 0 and reseed.updated == 0 and reseed.unchanged == 20
              - reseed.collections.users.unchanged == 4
              - reseed.server.flavor == 'ferretdb'
              - preview is changed
              - preview.inserted == 20

        - name: Migrate.
          vhvcorp.devtools.mongodb_migrate:
            uri: "{{ uri }}"
            database: "{{ database }}"
            src: "{{ migrations }}"
          register: migrate

        - name: Migrate again.
          vhvcorp.devtools.mongodb_migrate:
            uri: "{{ uri }}"
            database: "{{ database }}"
            src: "{{ migrations }}"
          register: remigrate

        - name: The migrations ran once.
          ansible.builtin.assert:
            that:
              - migrate is changed
              - migrate.migrations | map(attribute='status') | unique | list == ['applied']
              - migrate.current_version == '0003'
              - remigrate is not changed
              - remigrate.migrations == []

        - name: Reset without confirmation.
          block:
            - name: Try it.
              vhvcorp.devtools.mongodb_reset:
                uri: "{{ uri }}"
                database: "{{ database }}"
          rescue:
            - name: It refused and said how to confirm.
              ansible.builtin.assert:
                that:
                  - ansible_failed_result.msg is search(refused)
                  - ansible_failed_result.msg is search('set `confirm. true`')

        - name: Reset and reseed.
          vhvcorp.devtools.mongodb_reset:
            uri: "{{ uri }}"
            database: "{{ database }}"
            confirm: true
            reseed: true
            src: "{{ fixtures }}"
          register: reset

        - name: It dropped the platform's collections and loaded the fixtures again.
          ansible.builtin.assert:
            that:
              - reset is changed
              - reset.dropped | map(attribute='name') | list == platform_collections
              - reset.seed.inserted == 20

        - name: A server that does not answer.
          block:
            - name: Try it.
              vhvcorp.devtools.mongodb_seed:
                uri: "mongodb://127.0.0.1:{{ closed_port }}/"
                server_selection_timeout: 1
                database: "{{ database }}"
                src: "{{ fixtures }}"
          rescue:
            - name: One sentence that says what to do.
              ansible.builtin.assert:
                that:
                  - ansible_failed_result.msg is search(unreachable)

        - name: Credentials the server refuses, in the URI.
          block:
            - name: Try it.
              vhvcorp.devtools.mongodb_seed:
                uri: "{{ uri | replace('mongodb://', 'mongodb://app:' ~ secret ~ '@') }}"
                database: "{{ database }}"
                src: "{{ fixtures }}"
          rescue:
            - name: The login was refused; the message names the user.
              ansible.builtin.assert:
                that:
                  - ansible_failed_result.msg is search("rejected the login of user 'app'")

    - name: A Python without pymongo.
      hosts: localhost
      gather_facts: false
      vars:
        ansible_python_interpreter: "{{ bare_python }}"
      tasks:
        - name: Without pymongo.
          block:
            - name: Try it.
              vhvcorp.devtools.mongodb_seed:
                uri: "{{ uri }}"
                database: "{{ database }}"
                src: "{{ fixtures }}"
          rescue:
            - name: It says which library to install, and where.
              ansible.builtin.assert:
                that:
                  - ansible_failed_result.msg is search('pymongo')
                  - ansible_failed_result.msg is search('ansible_python_interpreter')
    """
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def bare_python(tmp_path) -> str:
    """A Python with nothing but the standard library (no pymongo, no PyYAML)."""
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    return str(venv / "bin" / "python")


def test_the_modules_through_ansible(
    ansible, repo_root: Path, tmp_path, ferretdb_uri, mongo_client, fresh_db_name, bare_python
):
    check_database = fresh_db_name + "_check"
    secret = "Pa55-w0rd-never-shown"
    playbook = tmp_path / "mongodb.yml"
    playbook.write_text(PLAYBOOK)
    variables = tmp_path / "vars.json"
    variables.write_text(
        json.dumps(
            {
                "uri": ferretdb_uri,
                "database": fresh_db_name,
                "check_database": check_database,
                "fixtures": str(repo_root / "roles/database/files/fixtures"),
                "migrations": str(repo_root / "roles/database/files/migrations"),
                "closed_port": closed_port(),
                "secret": secret,
                "bare_python": bare_python,
                "platform_collections": list(PLATFORM_COLLECTIONS),
                "refused": r"^Refusing to drop users \(4 documents\), tenants \(2 documents\)",
                "unreachable": r"^Cannot reach MongoDB at 127\.0\.0\.1:[0-9]+ within 1s "
                r"\(Connection refused\); start it",
            }
        )
    )
    try:
        result = ansible("ansible-playbook", playbook, "-e", f"@{variables}", "-vvv", timeout=240)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-6000:]
        assert "failed=0" in result.stdout and "rescued=4" in result.stdout, result.stdout[-2000:]
        # -vvv prints every module's invocation: the URI's password is masked there too.
        assert secret not in output
        assert "mongodb://app:********@127.0.0.1" in output
        # Check mode wrote nothing.
        assert check_database not in mongo_client.list_database_names()
        assert mongo_client[fresh_db_name].users.count_documents({}) == 4
    finally:
        mongo_client.drop_database(check_database)
