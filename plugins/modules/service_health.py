#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: service_health
short_description: Wait until many HTTP, TCP and gRPC endpoints are healthy, all at once
version_added: 1.0.0
description:
  - Probes every endpoint of O(endpoints) in its own thread, each every O(interval) seconds
    (or its own C(interval)), until all are healthy or O(deadline) seconds have passed, and
    returns as soon as the last one is healthy (at most about one interval after it turns
    healthy). Replaces the old C(wait-for-services.sh) and C(check-health.sh).
  - "C(http): a GET of C(url); healthy when the status is one of C(status_codes) and, when
    given, the body matches C(body_regex) and contains C(body_contains)."
  - "C(tcp): healthy when a connection to C(host):C(port) opens."
  - "C(grpc): the standard C(grpc.health.v1.Health/Check) call on C(host):C(port)
    (plaintext); healthy when the answer is C(SERVING). It needs the C(grpcio) Python
    library on the managed host; without it the endpoint is checked as TCP and its result
    carries a C(note) saying so."
  - On failure the task fails with a message naming every unhealthy endpoint and its last
    error, and returns the full per-endpoint results.
  - Passwords written in a URL (C(http://user:pass@host/)) are masked in every result and
    message.
  - With O(wait=false) each endpoint is probed once (a health check rather than a wait).
author:
  - vhvcorp platform team (@vhvcorp)
requirements:
  - grpcio on the managed host, for a real gRPC health check (optional)
attributes:
  check_mode:
    support: full
    details:
      - Probing is read-only, but in check mode the tasks that would start the services did
        not run, so the module probes each endpoint once, never waits, and reports the results
        without failing (RV(healthy) says whether all answered).
  diff_mode:
    support: none
options:
  endpoints:
    description:
      - The endpoints to wait for.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Name used in results and messages (the service's name); unique.
        type: str
        required: true
      kind:
        description:
          - How to probe it.
        type: str
        choices: [http, tcp, grpc]
        default: http
      url:
        description:
          - C(http) only, required there. The URL to GET.
        type: str
      host:
        description:
          - C(tcp) and C(grpc) only. Host to connect to.
        type: str
        default: 127.0.0.1
      port:
        description:
          - C(tcp) and C(grpc) only, required there. Port to connect to.
        type: int
      status_codes:
        description:
          - C(http) only. Statuses that count as healthy.
        type: list
        elements: int
        default: [200]
      body_regex:
        description:
          - C(http) only. A Python regular expression the body must match (C(re.search)).
        type: str
      body_contains:
        description:
          - C(http) only. A string the body must contain.
        type: str
      grpc_service:
        description:
          - C(grpc) only. The service name to ask about; empty asks about the server as a
            whole.
        type: str
        default: ""
      timeout:
        description:
          - Seconds one probe may take. Default is O(timeout).
        type: float
      interval:
        description:
          - Seconds between two probes of this endpoint. Default is O(interval).
        type: float
      validate_certs:
        description:
          - C(http) only. Check the server's TLS certificate.
        type: bool
        default: true
  deadline:
    description:
      - Seconds to wait, in all, for every endpoint to be healthy.
    type: float
    default: 120
  timeout:
    description:
      - Seconds one probe may take, for endpoints that set no C(timeout).
    type: float
    default: 2
  interval:
    description:
      - Seconds between two probes of an endpoint, for endpoints that set no C(interval).
        The module returns at most about this long after the last endpoint turns healthy.
    type: float
    default: 0.25
  wait:
    description:
      - C(false) probes each endpoint once and fails if any is unhealthy.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Wait for the stack to be healthy (setup.yml's last step).
  vhvcorp.devtools.service_health:
    deadline: 180
    endpoints:
      - {name: mongodb, kind: tcp, port: 27017}
      - {name: redis, kind: tcp, port: 6379}
      - name: rabbitmq
        url: http://127.0.0.1:15672/api/health/checks/alarms
        status_codes: [200, 401]
      - name: auth-service
        url: http://127.0.0.1:8081/health
        body_contains: ok
      - {name: auth-service-grpc, kind: grpc, port: 50051}
  register: health

- name: Show how long the stack took.
  ansible.builtin.debug:
    msg: "All healthy after {{ health.elapsed_s }} s."

- name: Show each endpoint's state, latency and time to healthy as a table.
  ansible.builtin.debug:
    msg: >-
      {{ health.rows | vhvcorp.devtools.stack_table(
           ['endpoint', 'state', 'latency', 'healthy_after'], right=['latency', 'healthy_after']) }}

- name: Check every service of the catalog once (check-health.yml).
  vhvcorp.devtools.service_health:
    wait: false
    endpoints: >-
      [{% for service in devtools_services %}
      {"name": "{{ service.name }}",
       "url": "http://127.0.0.1:{{ service.http_port }}{{ service.health_path }}"},
      {% endfor %}]
"""

RETURN = r"""
healthy:
  description: Whether every endpoint was healthy.
  returned: always
  type: bool
  sample: true
unhealthy:
  description: Names of the endpoints that were not healthy, in O(endpoints) order.
  returned: always
  type: list
  elements: str
  sample: [notification-service]
elapsed_s:
  description: Seconds from the first probe until the module returned.
  returned: always
  type: float
  sample: 12.41
endpoints:
  description: One result per endpoint, in O(endpoints) order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The endpoint's name.
      type: str
      returned: always
      sample: auth-service
    kind:
      description: C(http), C(tcp) or C(grpc).
      type: str
      returned: always
      sample: http
    target:
      description: The URL (password masked) or C(host:port) probed.
      type: str
      returned: always
      sample: http://127.0.0.1:8081/health
    healthy:
      description: Whether the endpoint became healthy.
      type: bool
      returned: always
      sample: true
    status:
      description:
        - What the last probe got - the HTTP status (int), the gRPC health status or gRPC
          error code (C(SERVING), C(NOT_SERVING), C(UNAVAILABLE)...), C(open) for a TCP port
          that accepted a connection; C(null) when nothing answered.
      type: raw
      returned: always
      sample: 200
    latency_ms:
      description: Milliseconds the last probe took.
      type: float
      returned: always
      sample: 3.2
    attempts:
      description: Probes made.
      type: int
      returned: always
      sample: 5
    last_error:
      description: Why the last probe failed; C(null) once healthy.
      type: str
      returned: always
      sample: connection refused
    healthy_after_s:
      description: Seconds from the start until it was healthy; C(null) if it never was.
      type: float
      returned: always
      sample: 1.02
    note:
      description: Set when a gRPC endpoint was checked as TCP because grpcio is missing.
      type: str
      returned: always
      sample: null
rows:
  description:
    - The same results as text for a table, one per endpoint in O(endpoints) order, every
      value a string (C(-) where there is no figure). The stack role prints them with
      C(vhvcorp.devtools.stack_table) as the last word of C(setup.yml) and
      C(check-health.yml).
  returned: always
  type: list
  elements: dict
  contains:
    endpoint:
      description: The endpoint's name.
      type: str
      returned: always
      sample: auth-service
    state:
      description:
        - "C(healthy), or C(unhealthy:) and the last error (cut at 48 characters; the
          failure message has all of it). C(healthy (TCP only: no grpcio)) for a gRPC
          endpoint checked as TCP."
      type: str
      returned: always
      sample: "unhealthy: HTTP 503, expected 200"
    latency:
      description: How long the last probe took, in milliseconds.
      type: str
      returned: always
      sample: 3.2 ms
    healthy_after:
      description: Seconds from the start of the check until the endpoint was healthy.
      type: str
      returned: always
      sample: 1.02 s
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils.service_health import (
    EndpointError,
    failure_message,
    make_endpoints,
    table_rows,
    url_password,
    wait,
)


def argument_spec():
    return dict(
        endpoints=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                kind=dict(type="str", choices=["http", "tcp", "grpc"], default="http"),
                url=dict(type="str"),
                host=dict(type="str", default="127.0.0.1"),
                port=dict(type="int"),
                status_codes=dict(type="list", elements="int", default=[200]),
                body_regex=dict(type="str"),
                body_contains=dict(type="str"),
                grpc_service=dict(type="str", default=""),
                timeout=dict(type="float"),
                interval=dict(type="float"),
                validate_certs=dict(type="bool", default=True),
            ),
        ),
        deadline=dict(type="float", default=120),
        timeout=dict(type="float", default=2),
        interval=dict(type="float", default=0.25),
        wait=dict(type="bool", default=True),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    for spec in params["endpoints"]:
        password = url_password(spec.get("url") or "")
        if password:
            module.no_log_values.add(password)
    if params["deadline"] <= 0:
        module.fail_json(msg="deadline %r must be more than 0 seconds." % params["deadline"])
    try:
        endpoints = make_endpoints(params["endpoints"], params["timeout"], params["interval"])
    except EndpointError as exc:
        module.fail_json(msg=str(exc))

    once = module.check_mode or not params["wait"]
    outcome = wait(endpoints, params["deadline"], once=once)
    result = dict(
        changed=False,
        healthy=outcome["healthy"],
        unhealthy=outcome["unhealthy"],
        elapsed_s=outcome["elapsed_s"],
        endpoints=outcome["results"],
        rows=table_rows(outcome["results"]),
    )
    if not outcome["healthy"] and not module.check_mode:
        module.fail_json(msg=failure_message(outcome, params["deadline"], once), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
