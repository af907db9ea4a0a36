# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""RabbitMQ's definitions (user, vhost, exchanges, queues with their dead-lettering, bindings)
from the stack's RabbitMQ topology."""

from __future__ import annotations

import base64
import hashlib


def rabbitmq_password_hash(password: str, salt_seed: str = "") -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password)).

    The 4-byte salt is derived from the password (and salt_seed) so the same password
    gives the same hash on every run: the definitions file changes only when the password
    does. Written here as no library computes RabbitMQ's format.
    """
    pw = str(password).encode()
    salt = hashlib.sha256(b"vhvcorp-devtools:" + str(salt_seed).encode() + b":" + pw).digest()[:4]
    return base64.b64encode(salt + hashlib.sha256(salt + pw).digest()).decode()


def rabbitmq_definitions(topology: dict, user: str, password: str, vhost: str = "/") -> dict:
    """The definitions RabbitMQ loads at start: user, vhost, exchanges, queues, bindings."""
    dlx = topology.get("dead_letter_exchange", "dlx")
    dl_key = topology.get("dead_letter_routing_key", "failed")
    dl_queue = topology.get("dead_letter_queue", f"{dlx}.{dl_key}")
    exchanges = [
        {
            "name": dlx,
            "vhost": vhost,
            "type": "direct",
            "durable": True,
            "auto_delete": False,
            "internal": False,
            "arguments": {},
        }
    ]
    queues = [
        {"name": dl_queue, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": {}}
    ]
    bindings = [
        {
            "source": dlx,
            "vhost": vhost,
            "destination": dl_queue,
            "destination_type": "queue",
            "routing_key": dl_key,
            "arguments": {},
        }
    ]
    for ex in topology.get("exchanges") or []:
        exchanges.append(
            {
                "name": ex["name"],
                "vhost": vhost,
                "type": ex.get("type", "topic"),
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
        )
        for q in ex.get("queues") or []:
            queues.append(
                {
                    "name": q["name"],
                    "vhost": vhost,
                    "durable": True,
                    "auto_delete": False,
                    "arguments": {
                        "x-dead-letter-exchange": dlx,
                        "x-dead-letter-routing-key": dl_key,
                    },
                }
            )
            bindings.append(
                {
                    "source": ex["name"],
                    "vhost": vhost,
                    "destination": q["name"],
                    "destination_type": "queue",
                    "routing_key": str(q.get("routing_key", "")),
                    "arguments": {},
                }
            )
    return {
        "users": [
            {
                "name": user,
                "password_hash": rabbitmq_password_hash(password, user),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": ["administrator"],
            }
        ],
        "vhosts": [{"name": vhost}],
        "permissions": [
            {"user": user, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}
        ],
        "exchanges": exchanges,
        "queues": queues,
        "bindings": bindings,
    }
