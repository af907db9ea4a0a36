#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: http_load
short_description: A bounded HTTP load test on this machine, with rate and latency percentiles
version_added: 1.0.0
description:
  - Sends C(GET) O(url) from O(concurrency) threads (one keep-alive connection each) until
    O(requests) were sent or O(duration) seconds passed, whichever comes first, and returns
    the requests per second and the latency percentiles (p50, p90, p99, max) of what was
    answered, with the errors (HTTP 4xx/5xx and failed connections).
  - Only a loopback address (C(127.0.0.1), C(::1), C(localhost) taken as C(127.0.0.1)) is
    accepted; any other URL fails before anything is sent.
  - Never reports a change.
author:
  - vhvcorp platform team (@vhvcorp)
attributes:
  check_mode:
    support: full
    details: Nothing is sent; the URL is checked.
  diff_mode:
    support: none
options:
  url:
    description:
      - The http URL on this machine (the gateway's published port).
    type: str
    required: true
  requests:
    description:
      - At most this many requests.
    type: int
    default: 1000
  duration:
    description:
      - At most this many seconds.
    type: float
    default: 30
  concurrency:
    description:
      - Threads sending at once.
    type: int
    default: 4
  timeout:
    description:
      - Seconds one request may take.
    type: float
    default: 5
  max_error_rate:
    description:
      - Fail when more than this fraction of the requests failed (0.01 is one in a hundred).
    type: float
    default: 0.0
"""

EXAMPLES = r"""
- name: Load the gateway's health endpoint (at most 2000 requests or 20 seconds).
  vhvcorp.devtools.http_load:
    url: http://127.0.0.1:8080/health
    requests: 2000
    duration: 20
    concurrency: 8
  register: load

- name: Print the figures.
  ansible.builtin.debug:
    msg: "{{ load.summary }}"
"""

RETURN = r"""
summary:
  description: One line of the figures.
  returned: success
  type: str
  sample: >-
    1000 requests in 1.9 s: 526.3 requests/s; latency p50 6.8 ms, p90 11.2 ms, p99 19.0 ms,
    max 25.1 ms; 0 errors
requests:
  description: How many requests were sent.
  returned: success
  type: int
  sample: 1000
answered:
  description: How many got an HTTP answer (any status).
  returned: success
  type: int
  sample: 1000
errors:
  description: How many failed (HTTP 4xx/5xx, or no answer).
  returned: success
  type: int
  sample: 0
first_errors:
  description: Up to five distinct errors.
  returned: success
  type: list
  elements: str
  sample: ["HTTP 503"]
statuses:
  description: How many answers of each HTTP status.
  returned: success
  type: dict
  sample: {"200": 1000}
seconds:
  description: How long the test took.
  returned: success
  type: float
  sample: 1.9
requests_per_second:
  description: Requests sent per second.
  returned: success
  type: float
  sample: 526.3
latency_ms:
  description: Latency of the answered requests, milliseconds (p50, p90, p99, max, mean).
  returned: success
  type: dict
  sample: {p50: 6.8, p90: 11.2, p99: 19.0, max: 25.1, mean: 7.4}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vhvcorp.devtools.plugins.module_utils.http_load import (
    LoadError,
    loopback_target,
    run_load,
    summary,
)


def argument_spec():
    return dict(
        url=dict(type="str", required=True),
        requests=dict(type="int", default=1000),
        duration=dict(type="float", default=30),
        concurrency=dict(type="int", default=4),
        timeout=dict(type="float", default=5),
        max_error_rate=dict(type="float", default=0.0),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    try:
        loopback_target(p["url"])
    except LoadError as exc:
        module.fail_json(msg=str(exc))
    if p["requests"] < 1 or p["duration"] <= 0 or p["concurrency"] < 1:
        module.fail_json(msg="requests, duration and concurrency must be positive.")
    if module.check_mode:
        module.exit_json(changed=False, summary="check mode: nothing sent to %s" % p["url"])
    result = run_load(p["url"], p["requests"], p["duration"], p["concurrency"], p["timeout"])
    result["summary"] = summary(result)
    if result["requests"] and result["errors"] / result["requests"] > p["max_error_rate"]:
        module.fail_json(
            msg="%d of %d requests to %s failed (%s); is the stack up and healthy (make status)?"
            % (result["errors"], result["requests"], p["url"], ", ".join(result["first_errors"])),
            changed=False,
            **result,
        )
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
