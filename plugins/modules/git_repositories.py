#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: git_repositories
short_description: Clone or fast-forward many git repositories at once, leaving local work alone
version_added: 1.0.0
description:
  - Clones each repository of O(repositories) into O(dest)/<name>, or updates the clone that
    is there, several at a time (O(parallel)), with the git CLI.
  - An existing clone is updated like C(git pull --ff-only) on the branch it has checked
    out - one C(git fetch) of that branch's upstream on C(origin), then a fast-forward. A
    clone with uncommitted changes (tracked or untracked files) is reported C(dirty) and not
    touched; one with local commits not on the remote, or where a fast-forward is impossible,
    is reported C(diverged) and not touched; a directory that is not a git repository, or
    whose C(origin) is another URL, is reported C(not_a_clone) and not touched.
  - Why not M(ansible.builtin.git) in a loop - it clones one repository after the other, and
    on a work tree with local changes it either fails or, with C(force), discards them.
  - Credentials written in a URL (C(https://user:token@host/...)) never appear in the result,
    messages or warnings.
  - Git never prompts; a repository that needs credentials git does not have fails with
    what to do.
author:
  - vhvcorp platform team (@vhvcorp)
requirements:
  - git (the CLI) on the managed host
attributes:
  check_mode:
    support: full
    details:
      - Asks the remotes with C(git ls-remote) and reports C(would_clone) or C(would_update);
        writes nothing, not even remote-tracking refs.
      - When the remote commit is not in the clone yet, whether a fast-forward is possible is
        judged from what C(origin) had at the last fetch.
  diff_mode:
    support: none
options:
  repositories:
    description:
      - The repositories, each cloned into O(dest)/<name>.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Directory name under O(dest) (letters, digits, C(.), C(_), C(-)); unique.
        type: str
        required: true
      url:
        description:
          - Clone URL (C(https://...), C(git@host:org/repo.git), C(ssh://...), C(file:///...)).
        type: str
        required: true
      version:
        description:
          - Branch or tag to check out when cloning. Default is the remote's default branch.
          - Later runs follow the branch the clone has checked out, whichever it is, so a
            developer's own branch is never switched.
          - C(branch) is accepted as another name for it.
        type: str
  dest:
    description:
      - The workspace directory; created when missing.
    type: path
    required: true
  update:
    description:
      - What to do with a clone that is there already.
      - C(ff-only) fetches its upstream branch and fast-forwards to it when that is possible
        and the work tree is clean.
      - C(none) leaves clones alone (no fetch); only missing repositories are cloned.
    type: str
    choices: [none, ff-only]
    default: ff-only
  parallel:
    description:
      - How many repositories are cloned or updated at the same time.
    type: int
    default: 4
  strict:
    description:
      - When true, any C(failed) repository fails the task, naming it; the others are still
        cloned or updated.
      - When false, failures are returned in RV(repositories) and turned into warnings.
    type: bool
    default: true
  accept_newhostkey:
    description:
      - Let SSH accept and remember the host key of a host it has never seen
        (C(StrictHostKeyChecking=accept-new)); a changed key is still refused.
      - Without it, the first clone over SSH from a new host fails until the key is in
        C(known_hosts).
    type: bool
    default: true
  ssh_opts:
    description:
      - More options for the C(ssh) git runs (appended to C(GIT_SSH_COMMAND)), such as
        C(-i ~/.ssh/id_work).
    type: str
  timeout:
    description:
      - Seconds any one git command may take before the repository is reported failed.
    type: int
    default: 600
notes:
  - SSH runs with C(BatchMode=yes), so a key with a passphrase must be in an agent.
  - As with C(git clone), credentials written in a URL end up in the clone's
    C(.git/config); a credential helper or an SSH key keeps them out of it.
seealso:
  - module: ansible.builtin.git
"""

EXAMPLES = r"""
- name: Clone the platform's services, or bring them up to date.
  vhvcorp.devtools.git_repositories:
    dest: "{{ ansible_facts.env.HOME }}/workspace/go-platform"
    repositories:
      - {name: auth-service, url: "https://github.com/vhvcorp/auth-service.git"}
      - {name: user-service, url: "https://github.com/vhvcorp/user-service.git"}
      - {name: api-gateway, url: "git@github.com:vhvcorp/api-gateway.git", version: develop}
  register: repos

- name: Say which clones were left alone, and why.
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.status }}. {{ item.msg }}"
  loop: "{{ repos.repositories | rejectattr('status', 'in', ['unchanged', 'cloned', 'updated']) }}"
  loop_control:
    label: "{{ item.name }}"

- name: Preview what would be cloned or fast-forwarded (writes nothing).
  vhvcorp.devtools.git_repositories:
    dest: "{{ ansible_facts.env.HOME }}/workspace/go-platform"
    repositories: "{{ my_repositories }}"
  check_mode: true

- name: Clone what is missing, never fetch, and carry on when a repository is unreachable.
  vhvcorp.devtools.git_repositories:
    dest: /srv/mirror
    repositories: "{{ my_repositories }}"
    update: none
    strict: false
    parallel: 8
    ssh_opts: -i ~/.ssh/id_ci
"""

RETURN = r"""
repositories:
  description: What happened to each repository, in the order given.
  returned: always
  type: list
  elements: dict
  sample:
    - name: auth-service
      url: https://github.com/vhvcorp/auth-service.git
      path: /home/dev/workspace/go-platform/auth-service
      version: null
      status: updated
      before: 3ff0b6b664b8fc67c71a4128c18501a82c163227
      after: fdf77dee7bdcca69503a4d15ef4e92fb5c32ae38
      msg: Fast-forwarded main from 3ff0b6b664b8 to fdf77dee7bdc.
  contains:
    name:
      description: The repository's name (its directory under O(dest)).
      type: str
      returned: always
      sample: auth-service
    url:
      description: Its URL, without any credentials.
      type: str
      returned: always
      sample: https://github.com/vhvcorp/auth-service.git
    path:
      description: Where its clone is.
      type: str
      returned: always
      sample: /home/dev/workspace/go-platform/auth-service
    version:
      description: The branch or tag asked for, or null.
      type: str
      returned: always
      sample: null
    status:
      description:
        - C(cloned), C(updated) (fast-forwarded), C(unchanged) (up to date, or nothing to
          update), C(dirty) (uncommitted changes, left alone), C(diverged) (local commits
          not on the remote, or fast-forward impossible; left alone), C(not_a_clone) (the
          directory is not a git repository or has another origin; left alone), C(failed).
        - In check mode C(would_clone) and C(would_update) instead of C(cloned) and
          C(updated).
      type: str
      returned: always
      sample: updated
    before:
      description: The clone's HEAD commit before, or null when there was no clone.
      type: str
      returned: always
      sample: 3ff0b6b664b8fc67c71a4128c18501a82c163227
    after:
      description: Its HEAD commit after (in check mode, the commit it would have), or null.
      type: str
      returned: always
      sample: fdf77dee7bdcca69503a4d15ef4e92fb5c32ae38
    msg:
      description:
        - One sentence on what happened; for C(dirty), C(diverged), C(not_a_clone) and
          C(failed) also what to do (for C(failed), with git's last line of error).
      type: str
      returned: always
      sample: Fast-forwarded main from 3ff0b6b664b8 to fdf77dee7bdc.
    ahead:
      description: Local commits not on the remote branch.
      type: int
      returned: when status is diverged after a fetch
      sample: 2
    behind:
      description: Remote commits not in the clone.
      type: int
      returned: when status is diverged after a fetch
      sample: 1
summary:
  description: How many repositories ended in each status (every status, zeros included).
  returned: always
  type: dict
  sample:
    cloned: 0
    updated: 1
    unchanged: 4
    would_clone: 0
    would_update: 0
    dirty: 1
    diverged: 0
    not_a_clone: 0
    failed: 0
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils.git_repositories import (
    UPDATE_MODES,
    Git,
    InputError,
    git_environment,
    scrub,
    sync_repositories,
    url_secrets,
)


def argument_spec():
    """The module's options."""
    return dict(
        repositories=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                url=dict(type="str", required=True),
                version=dict(type="str", aliases=["branch"]),
            ),
        ),
        dest=dict(type="path", required=True),
        update=dict(type="str", choices=list(UPDATE_MODES), default="ff-only"),
        parallel=dict(type="int", default=4),
        strict=dict(type="bool", default=True),
        accept_newhostkey=dict(type="bool", default=True),
        ssh_opts=dict(type="str"),
        timeout=dict(type="int", default=600),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    secrets = set()
    for repo in params["repositories"]:
        secrets |= url_secrets(repo["url"])
    # Ansible masks these everywhere in the result, the invocation included.
    module.no_log_values.update(secrets)

    executable = module.get_bin_path("git")
    if not executable:
        module.fail_json(
            msg="git is not installed on this host: install it (apt-get install git, "
            "dnf install git, or xcode-select --install on macOS) and rerun."
        )
    if params["timeout"] < 1:
        module.fail_json(msg="`timeout` is %r: give 1 second or more." % params["timeout"])
    git = Git(
        executable,
        env=git_environment(
            accept_newhostkey=params["accept_newhostkey"], ssh_opts=params["ssh_opts"]
        ),
        timeout=params["timeout"],
    )
    repositories = [
        dict(name=repo["name"], url=repo["url"], version=repo.get("version"))
        for repo in params["repositories"]
    ]
    try:
        result = sync_repositories(
            repositories,
            params["dest"],
            update=params["update"],
            parallel=params["parallel"],
            check_mode=module.check_mode,
            git=git,
        )
    except InputError as exc:
        module.fail_json(msg=scrub(str(exc), secrets))

    failed = [e for e in result["repositories"] if e["status"] == "failed"]
    if failed and params["strict"]:
        result["msg"] = "%d of %d repositories failed: %s" % (
            len(failed),
            len(result["repositories"]),
            " ".join("%s: %s" % (e["name"], e["msg"]) for e in failed),
        )
        module.fail_json(**result)
    for entry in failed:
        module.warn(entry["msg"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
