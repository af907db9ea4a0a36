#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: jwt_token
short_description: Make an HS256 test token for the platform's APIs
version_added: 1.0.0
description:
  - Signs a JSON Web Token (HS256) with the claims the platform's auth service puts in its
    access tokens - C(user_id), C(tenant_id), C(email) (when given), C(roles), C(iss), C(iat)
    and C(exp) - plus any O(claims), so requests to the API gateway can be made without
    logging in. Replaces the old C(scripts/utilities/generate-jwt.sh).
  - The secret is read from the workspace C(.env) (O(env_file), key O(secret_key)) or given
    in O(secret). It never appears in the result, messages or logs.
  - The token itself is returned in RV(token) - that is the point of the module - and it is
    a credential for as long as it lives (O(expiry)); set C(no_log) on the task when
    its output goes to a shared log.
  - The issuer defaults to the C(.env)'s C(JWT_ISSUER), like the tokens the services accept.
    A C(.env) whose C(JWT_ALGORITHM) is not C(HS256) is refused.
  - HS256 is implemented with Python's C(hmac) and C(hashlib) (checked against the RFC 7515
    A.1 example), so the managed host needs no JWT library.
author:
  - vhvcorp platform team (@vhvcorp)
attributes:
  check_mode:
    support: full
    details: Nothing is written in either mode; the token is made in check mode too.
  diff_mode:
    support: none
options:
  user_id:
    description:
      - The C(user_id) claim.
    type: str
    required: true
  tenant_id:
    description:
      - The C(tenant_id) claim.
    type: str
    required: true
  roles:
    description:
      - The C(roles) claim.
    type: list
    elements: str
    default: [user]
  email:
    description:
      - The C(email) claim; left out when not given.
    type: str
  issuer:
    description:
      - The C(iss) claim. Default is C(JWT_ISSUER) of O(env_file), else C(saas-platform).
    type: str
  expiry:
    description:
      - Lifetime of the token as a Go duration (C(24h), C(90m), C(1h30m)); C(exp) is C(iat)
        plus this.
    type: str
    default: 24h
  claims:
    description:
      - More claims to add. They may not set the claims above (use their options).
    type: dict
    default: {}
  env_file:
    description:
      - The workspace C(.env) to read the secret (and the issuer) from.
      - One of O(env_file) and O(secret) is required; O(secret) wins when both are given.
    type: path
  secret_key:
    description:
      - The key of O(env_file) that holds the signing secret.
    type: str
    default: JWT_SECRET
  secret:
    description:
      - The signing secret, used as UTF-8 bytes (as the Go services use the string).
    type: str
"""

EXAMPLES = r"""
- name: Make a token for the demo tenant's admin from the workspace .env.
  vhvcorp.devtools.jwt_token:
    env_file: "{{ ansible_facts.env.HOME }}/workspace/go-platform/.env"
    user_id: user-123
    tenant_id: tenant-demo
    roles: [admin, user]
    email: admin@demo.example.com
  register: jwt
  no_log: true

- name: Call the API with it.
  ansible.builtin.uri:
    url: http://127.0.0.1:8080/api/v1/users/me
    headers:
      Authorization: "Bearer {{ jwt.token }}"
  no_log: true

- name: A short-lived token with an extra claim, signed with a given secret.
  vhvcorp.devtools.jwt_token:
    secret: "{{ vault_jwt_secret }}"
    user_id: user-456
    tenant_id: tenant-acme
    expiry: 15m
    claims:
      scope: read:users
  register: short_jwt
"""

RETURN = r"""
token:
  description:
    - The signed token (header.payload.signature). A credential until RV(expires_at).
  returned: success
  type: str
  sample: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoidXNlci0xMjMifQ.c2lnbmF0dXJl
claims:
  description: The token's payload, as signed.
  returned: success
  type: dict
  sample:
    user_id: user-123
    tenant_id: tenant-demo
    roles: [admin, user]
    iss: saas-platform
    iat: 1767225600
    exp: 1767312000
header:
  description: The token's header.
  returned: success
  type: dict
  sample: {alg: HS256, typ: JWT}
expires_at:
  description: When the token expires, ISO 8601 in UTC.
  returned: success
  type: str
  sample: "2026-01-02T00:00:00Z"
secret_source:
  description: Where the secret came from, C(option) or C(env_file:<key>).
  returned: success
  type: str
  sample: env_file:JWT_SECRET
"""

import datetime
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils.dotenv import (
    DotenvError,
    parse,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils.jwt_token import (
    ALGORITHM,
    TokenError,
    build_claims,
    encode,
    parse_duration,
)

DEFAULT_ISSUER = "saas-platform"
# A secret this short is not added to no_log_values: it would garble every output.
MIN_SCRUBBED = 6


def argument_spec():
    return dict(
        user_id=dict(type="str", required=True),
        tenant_id=dict(type="str", required=True),
        roles=dict(type="list", elements="str", default=["user"]),
        email=dict(type="str"),
        issuer=dict(type="str"),
        expiry=dict(type="str", default="24h"),
        claims=dict(type="dict", default={}),
        env_file=dict(type="path"),
        secret_key=dict(type="str", default="JWT_SECRET", no_log=False),
        secret=dict(type="str", no_log=True),
    )


def read_env(module, path):
    if not os.path.isfile(path):
        module.fail_json(
            msg="env_file %r does not exist; write the workspace .env first "
            "(setup.yml --tags workspace) or pass the secret in `secret`." % path
        )
    try:
        with open(path, encoding="utf-8") as handle:
            return parse(handle.read()).values()
    except (OSError, UnicodeDecodeError) as exc:
        module.fail_json(msg="cannot read env_file %r: %s" % (path, exc))
    except DotenvError as exc:
        module.fail_json(msg="env_file %r: %s" % (path, exc))


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_one_of=[("env_file", "secret")],
        supports_check_mode=True,
    )
    params = module.params
    env = read_env(module, params["env_file"]) if params["env_file"] else {}

    if params["secret"] is not None:
        secret, source = params["secret"], "option"
    else:
        key = params["secret_key"]
        secret, source = env.get(key, ""), "env_file:%s" % key
        if len(secret) >= MIN_SCRUBBED:
            module.no_log_values.add(secret)
        if not secret:
            module.fail_json(
                msg="%s in %s is %s; run the workspace role to generate it, or pass the "
                "secret in `secret`."
                % (key, params["env_file"], "empty" if key in env else "missing")
            )
    if not secret:
        module.fail_json(msg="`secret` is empty; give the JWT_SECRET the services use.")

    algorithm = env.get("JWT_ALGORITHM") or ALGORITHM
    if algorithm != ALGORITHM:
        module.fail_json(
            msg="JWT_ALGORITHM in %s is %r; this module signs HS256 only, so the services "
            "would refuse its tokens. Set JWT_ALGORITHM=HS256." % (params["env_file"], algorithm)
        )
    if len(secret.encode("utf-8")) < 32:
        module.warn(
            "The signing secret is shorter than 32 bytes; env_validate refuses that outside "
            "development."
        )

    issuer = params["issuer"] or env.get("JWT_ISSUER") or DEFAULT_ISSUER
    try:
        lifetime = parse_duration(params["expiry"])
        claims = build_claims(
            params["user_id"],
            params["tenant_id"],
            params["roles"],
            issuer,
            lifetime,
            email=params["email"],
            extra=params["claims"],
        )
        header = {"alg": ALGORITHM, "typ": "JWT"}
        token = encode(claims, secret, header)
    except TokenError as exc:
        module.fail_json(msg=str(exc))

    expires = datetime.datetime.fromtimestamp(claims["exp"], datetime.timezone.utc)
    module.exit_json(
        changed=False,
        token=token,
        claims=claims,
        header=header,
        expires_at=expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        secret_source=source,
    )


if __name__ == "__main__":
    main()
