"""A restore that stops at a known point, for the tests of restores that overlap: run as
``python paused_restore.py URI SRC FROM TO``, it restores SRC with ns_from FROM and ns_to
TO, prints "paused" once its first collection is staged, waits for a line on its standard
input (or to be killed), then finishes and prints "done".
"""

import sys

import pymongo
from ansible_collections.vhvcorp.devtools.plugins.module_utils import mongodb_restore
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb import server_capabilities


def _pause_once(step, info):
    if step == "staged" and mongodb_restore.FAULT_HOOK is _pause_once:
        mongodb_restore.FAULT_HOOK = None
        print("paused", flush=True)
        sys.stdin.readline()


if __name__ == "__main__":
    uri, src, ns_from, ns_to = sys.argv[1:5]
    client = pymongo.MongoClient(uri)
    mongodb_restore.FAULT_HOOK = _pause_once
    mongodb_restore.restore(
        client, src, ns_from=[ns_from], ns_to=[ns_to], capabilities=server_capabilities(client)
    )
    print("done", flush=True)
