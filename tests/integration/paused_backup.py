"""Crash points for the backup tests: a backup that reaches a known point mid-stream, then
lets the test crash it there (kill the server, or SIGKILL this process when run as a
script), so the crash never races the backup's speed.

As a script: python paused_backup.py URI DEST DB  -- prints "paused" after 5 batches of 500
documents and waits to be killed.
"""

import sys
import time

from ansible_collections.vhvcorp.devtools.plugins.module_utils import mongodb_backup


def pause_backups(after_batches, pause):
    """Make mongodb_backup call `pause()` once `after_batches` raw batches of a collection
    have gone into the archive; returns the original to put back."""
    real = mongodb_backup._collections

    def collections(*args, **kwargs):
        for coll in real(*args, **kwargs):
            coll.batches = _pause_after(coll.batches, after_batches, pause)
            yield coll

    mongodb_backup._collections = collections
    return real


def _pause_after(batches, after_batches, pause):
    for number, batch in enumerate(batches, 1):
        yield batch
        if number == after_batches:
            pause()


def _wait_for_kill():
    print("paused", flush=True)
    time.sleep(120)


if __name__ == "__main__":
    import pymongo

    pause_backups(5, _wait_for_kill)
    client = pymongo.MongoClient(sys.argv[1])
    mongodb_backup.run_backup(client, sys.argv[2], databases=[sys.argv[3]], batch_size=500)
