#!/usr/bin/env python3
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Throughput and memory of mongodb_backup and mongodb_restore, against the server's limit.

Starts a FerretDB of its own (the harness's binary, see tests/conftest.py), loads two data
sets, and for each measures, every run in a child process of its own:

- the backup limit: draining the raw cursor (find_raw_batches) to /dev/null;
- our backup (module_utils.mongodb_backup.run_backup) into a temporary directory;
- the restore limit: raw batch inserts of the same BSON (read into memory beforehand);
- our restore (module_utils.mongodb_restore.restore) of that backup into a new database.

It prints documents/s, MB/s (of BSON) and the peak RSS of each (the child's VmHWM, read at
its end), and the ratio of ours to the limit. Each pair of limit and ours runs --repeat
times (5), in alternating order, and the median ratio is the figure: on a small shared
machine one pair alone swings by 10-20% (three pairs of one run gave 0.86, 0.92 and
1.06). Targets: median ratio >= 0.9, peak RSS < 200 MB.

    python benchmarks/mongodb_backup_restore.py            # 200,000 small + 5,000 x 100 KB
    python benchmarks/mongodb_backup_restore.py --small 20000 --large 500   # a quick look
    python benchmarks/mongodb_backup_restore.py --only restore   # the restore pairs only

Sized for 2 cores; the full run takes about a quarter of an hour and 2 GB of disk in --workdir.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS = REPO / ".collections"
sys.path.insert(0, str(COLLECTIONS))

import bson  # noqa: E402
import pymongo  # noqa: E402
from bson.raw_bson import RawBSONDocument  # noqa: E402

RSS_TARGET_MB = 200
RATIO_TARGET = 0.9


def harness_binary() -> str:
    """The FerretDB binary the harness built (tests/conftest.py's harness_state)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vhvcorp-devtools"
    state = Path(os.environ.get("DEVTOOLS_STATE_DIR", default)) / "harness.json"
    if not state.is_file():
        sys.exit(f"{state} is missing: run `make harness` first (it builds FerretDB).")
    return json.loads(state.read_text())["ferretdb"]["binary"]


class Server:
    """A FerretDB of the benchmark's own, on 127.0.0.1 and a free port."""

    def __init__(self, binary: str, workdir: Path):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.uri = f"mongodb://127.0.0.1:{self.port}/"
        self.log = open(workdir / "ferretdb.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [binary, "-listen", f"127.0.0.1:{self.port}", "-data-dir", str(workdir / "data")],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, FERRETDB_TELEMETRY="disable"),
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        sys.exit("FerretDB did not start; see its log in the work directory.")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


# --- data ---------------------------------------------------------------------------------------


def small_documents(count: int, rng: random.Random):
    start = 1_700_000_000
    for i in range(count):
        yield bson.encode(
            {
                "_id": bson.ObjectId(),
                "email": f"user{i}@tenant{i % 50}.example.com",
                "tenant_id": f"tenant-{i % 50}",
                "status": rng.choice(("active", "invited", "suspended")),
                "roles": ["user"] if i % 7 else ["user", "admin"],
                "login_count": rng.randrange(1000),
                "created_at": bson.datetime.datetime.fromtimestamp(start + i),
            }
        )


def large_documents(count: int, rng: random.Random, size: int = 100_000):
    words = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 10)))
        for _ in range(5000)
    ]
    for i in range(count):
        body = " ".join(rng.choices(words, k=size // 6))[:size]
        yield bson.encode({"_id": i, "title": f"document {i}", "body": body, "tags": ["a", "b"]})


def load(client: pymongo.MongoClient, dbname: str, docs, chunk_bytes: int = 8 << 20):
    count = size = 0
    batch, batch_bytes = [], 0
    for doc in docs:
        batch.append(RawBSONDocument(doc))
        batch_bytes += len(doc)
        if batch_bytes >= chunk_bytes:
            client[dbname].docs.insert_many(batch)
            count, size = count + len(batch), size + batch_bytes
            batch, batch_bytes = [], 0
    if batch:
        client[dbname].docs.insert_many(batch)
        count, size = count + len(batch), size + batch_bytes
    return count, size


# --- the measured runs, each in a child process -------------------------------------------------

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import pymongo
from ansible_collections.vhvcorp.devtools.plugins.module_utils import (
    _archive_bson,
    _archive_readers,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils import mongodb_backup
from ansible_collections.vhvcorp.devtools.plugins.module_utils import mongodb_restore
from ansible_collections.vhvcorp.devtools.plugins.module_utils.mongodb import server_capabilities

mode, uri, dbname, path = sys.argv[2:6]
client = pymongo.MongoClient(uri)
caps = server_capabilities(client)
out = {}
if mode == "drain":
    started = time.perf_counter()
    with open("/dev/null", "wb") as sink:
        for batch in client[dbname].docs.find_raw_batches():
            sink.write(batch)
    out["elapsed"] = time.perf_counter() - started
elif mode == "backup":
    started = time.perf_counter()
    result = mongodb_backup.run_backup(client, path, databases=[dbname], capabilities=caps)
    out["elapsed"] = time.perf_counter() - started
    out["path"], out["file_size"] = result["path"], result["size"]
    out["documents"] = result["documents"]
elif mode == "insert":
    source = _archive_readers.open_source(path)
    inventory = source.scan()
    docs = []
    for entry, chunk, offsets in source.iter_chunks(inventory.collections):
        docs.extend(_archive_bson.raw_documents(chunk, offsets))
    target = client[dbname + "_limit"].docs
    started = time.perf_counter()
    batch, size = [], 0
    for doc in docs:
        batch.append(doc)
        size += len(doc.raw)
        if size >= 16 << 20:
            target.insert_many(batch)
            batch, size = [], 0
    if batch:
        target.insert_many(batch)
    out["elapsed"] = time.perf_counter() - started
    client.drop_database(dbname + "_limit")
elif mode == "restore":
    started = time.perf_counter()
    result = mongodb_restore.restore(
        client, path, ns_from=[dbname + ".*"], ns_to=[dbname + "_restored.*"], capabilities=caps
    )
    out["elapsed"] = time.perf_counter() - started
    out["documents"] = result["documents"]
    out["actions"] = sorted({c["action"] for c in result["collections"]})
# Peak resident set size of this process (VmHWM is per address space, so it starts afresh
# at exec, unlike ru_maxrss, which a child inherits from the parent it was forked from).
with open("/proc/self/status") as status:
    for line in status:
        if line.startswith("VmHWM:"):
            out["peak_rss_kb"] = int(line.split()[1])
print(json.dumps(out))
"""


def run_child(mode: str, uri: str, dbname: str, path: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(COLLECTIONS), mode, uri, dbname, path],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"the {mode} run failed (exit {result.returncode})")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    out["peak_rss_mb"] = out.pop("peak_rss_kb") / 1024
    return out


def measure(
    server: Server,
    dbname: str,
    count: int,
    size: int,
    workdir: Path,
    repeat: int,
    only: str | None = None,
) -> list[dict]:
    """``repeat`` pairs of (limit, ours) for backup and for restore (or ``only`` one of them),
    in alternating order (limit first, then ours first, ...), so that a slower or faster
    stretch of the machine weighs on both; each pair gives a ratio and the median is the
    figure."""
    client = pymongo.MongoClient(server.uri)
    rows = []
    dest = workdir / f"backups-{dbname}"
    dest.mkdir(exist_ok=True)

    latest = {}  # the last backup made: what the restores read

    def drain():
        return run_child("drain", server.uri, dbname, "-")

    def backup():
        made = run_child("backup", server.uri, dbname, str(dest))
        assert made["documents"] == count, made
        latest.update(made)
        return made

    def insert():
        return run_child("insert", server.uri, dbname, latest["path"])

    def restore():
        restored = run_child("restore", server.uri, dbname, latest["path"])
        assert restored["documents"] == count and restored["actions"] == ["created"], restored
        assert client[dbname + "_restored"].docs.estimated_document_count() == count
        client.drop_database(dbname + "_restored")
        return restored

    if only == "restore":
        backup()  # the file the restores read, not measured
    for what, limit_name, limit_run, ours_run in (
        ("backup", "drain (limit)", drain, backup),
        ("restore", "insert (limit)", insert, restore),
    ):
        if only not in (None, what):
            continue
        pairs = []
        for n in range(repeat):
            if n % 2 == 0:
                limit = limit_run()
                ours = ours_run()
            else:
                ours = ours_run()
                limit = limit_run()
            pairs.append((limit, ours))
            print_row(row(dbname, limit_name, count, size, limit))
            print_row(row(dbname, what, count, size, ours, limit))
        ratios = sorted(limit["elapsed"] / ours["elapsed"] for limit, ours in pairs)
        summary = row(dbname, what, count, size, median_run([o for _, o in pairs]), None)
        summary["ratio"] = ratios[len(ratios) // 2]
        summary["ratios"] = ratios
        summary["peak_rss_mb"] = max(o["peak_rss_mb"] for _, o in pairs)
        rows.append(summary)
        print(
            f"  {dbname:<6} {what:<15} median ratio {summary['ratio']:.2f} of "
            f"{', '.join(f'{r:.2f}' for r in ratios)}; peak RSS {summary['peak_rss_mb']:.1f} MB",
            flush=True,
        )
    share = latest["file_size"] / size
    print(f"  backup file: {latest['file_size'] / 1e6:.1f} MB ({share:.0%} of the BSON)")
    client.close()
    return rows


def median_run(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda r: r["elapsed"])[len(runs) // 2]


def row(dataset, name, count, size, run, limit=None) -> dict:
    seconds = run["elapsed"]
    return {
        "dataset": dataset,
        "run": name,
        "documents": count,
        "mb": size / 1e6,
        "seconds": seconds,
        "docs_per_s": count / seconds,
        "mb_per_s": size / 1e6 / seconds,
        "peak_rss_mb": run["peak_rss_mb"],
        "ratio": (limit["elapsed"] / seconds) if limit else None,
    }


def print_row(r):
    ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
    print(
        f"  {r['dataset']:<6} {r['run']:<15} {r['documents']:>8} docs {r['mb']:>8.1f} MB "
        f"{r['seconds']:>7.2f} s {r['docs_per_s']:>9.0f} docs/s {r['mb_per_s']:>7.1f} MB/s "
        f"rss {r['peak_rss_mb']:>6.1f} MB  ratio {ratio}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=200_000, help="small documents")
    parser.add_argument("--large", type=int, default=5_000, help="documents of about 100 KB")
    parser.add_argument(
        "--repeat", type=int, default=5, help="pairs of (limit, ours) per figure (median)"
    )
    parser.add_argument(
        "--only", choices=("backup", "restore"), help="measure one of them (default: both)"
    )
    parser.add_argument("--workdir", type=Path, help="where FerretDB's data and backups go")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-mongodb-"))
    workdir.mkdir(parents=True, exist_ok=True)
    server = Server(harness_binary(), workdir)
    rows = []
    try:
        client = pymongo.MongoClient(server.uri)
        rng = random.Random(20261124)  # noqa: S311 - test data, not secrets
        print(f"FerretDB on {server.uri}, work directory {workdir}", flush=True)
        datasets = []
        for name, docs in (
            ("small", small_documents(args.small, rng)),
            ("large", large_documents(args.large, rng)),
        ):
            started = time.perf_counter()
            count, size = load(client, name, docs)
            took = time.perf_counter() - started
            print(f"loaded {name}: {count} documents, {size / 1e6:.1f} MB in {took:.1f} s")
            datasets.append((name, count, size))
        client.close()
        for name, count, size in datasets:
            rows.extend(measure(server, name, count, size, workdir, args.repeat, args.only))
    finally:
        server.stop()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    ratios_ok = all(r["ratio"] >= RATIO_TARGET for r in rows)
    rss_ok = all(r["peak_rss_mb"] < RSS_TARGET_MB for r in rows)
    print(
        f"targets: ratio >= {RATIO_TARGET}: {'met' if ratios_ok else 'NOT met'}; "
        f"peak RSS < {RSS_TARGET_MB} MB: {'met' if rss_ok else 'NOT met'}"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if ratios_ok and rss_ok else 1


if __name__ == "__main__":
    sys.exit(main())
