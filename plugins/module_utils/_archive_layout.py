# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The mongodump directory layout (in a directory or a tar), from its files to a verified
``Inventory``: which file is which (data, metadata, JSON) and in which order they come,
where the databases are, which collection each file holds and which are skipped, and this
collection's backup manifest checked against every file and collection."""

from __future__ import annotations

import json
import re

from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_format import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    PRELUDE_NAME,
    TOOL_NAME,
    ArchiveError,
    check_database_name,
    is_truncated_file_base,
    parse_metadata_json,
    short_error,
    skip_reason,
    unescape_collection_name,
)
from ansible_collections.vhvcorp.devtools.plugins.module_utils._archive_source import (
    CollectionEntry,
    Inventory,
)


def is_data_file(name):
    return name.endswith(".bson") or name.endswith(".bson.gz")


def is_metadata_file(name):
    return name.endswith(".metadata.json") or name.endswith(".metadata.json.gz")


def is_json_file(name):
    return name.endswith(".json") or name.endswith(".json.gz")


def layout_order(paths):
    """Files in a stable order: per directory, collections by name, metadata before data."""

    def key(rel):
        parts = rel.split("/")
        name = parts[-1]
        rank = 0 if is_metadata_file(name) else 1 if is_data_file(name) else 2
        return (parts[:-1], _file_base(name), rank, name)

    return sorted(paths, key=key)


def _file_base(name):
    return re.sub(r"\.(metadata\.json|bson)(\.gz)?$", "", name)


def _load_json(facts, path, what):
    try:
        return json.loads(facts.content.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArchiveError(
            "%s: %s is not valid JSON (%s); the %s is damaged: restore another backup."
            % (path, facts.path, short_error(exc), what)
        ) from exc


def build_inventory(path, container, files):
    """The verified Inventory of a dump whose files (relative path: _FileFacts) are
    ``files``: its collections, what it skips and, for this collection's backup, its
    manifest checked against every file and collection."""
    inventory = Inventory(path, container)
    layout, prefix = _layout_files(path, files, inventory)
    manifest = _versions(path, files, prefix, inventory)
    entries = {}
    for rel in layout_order(layout):
        parts = rel.split("/")
        if len(parts) < 2:
            inventory.skipped.append({"path": rel, "reason": "not inside a database directory"})
            continue
        db = parts[-2]
        where = "%s: %s" % (path, rel)
        metadata = parse_metadata_json(files[rel].content, where) if is_metadata_file(rel) else None
        name = _collection_name(path, files, rel, metadata)
        # The collection's type is in its metadata file: the rest of the rules apply below.
        reason = skip_reason(db, name)
        if reason is not None:
            inventory.skipped.append({"path": rel, "reason": reason})
            continue
        check_database_name(db, where)
        entry = entries.get((db, name))
        if entry is None:
            entry = entries[(db, name)] = CollectionEntry(db, name)
        _add_file(path, entry, rel, files[rel], metadata)
    for entry in entries.values():
        reason = skip_reason(entry.db, entry.name, entry.collection_type)
        if reason is not None:
            inventory.skipped.append({"path": entry.metadata_path, "reason": reason})
            continue
        inventory.collections.append(entry)
    if manifest is not None:
        _verify_manifest_collections(path, manifest, inventory.collections)
    return inventory


def _layout_files(path, files, inventory):
    """The data and metadata files, and the prefix of the dump's root (where the databases
    are: every data or metadata file sits at <root>/<db>/<file>); the oplog is skipped."""
    layout = []
    for rel in files:
        if rel.rsplit("/", 1)[-1] in ("oplog.bson", "oplog.bson.gz"):
            # mongodump --oplog writes it beside the databases (a namespace without a
            # database), wherever the dump's root is; it is not a collection.
            inventory.skipped.append({"path": rel, "reason": skip_reason("", "oplog")})
        elif is_data_file(rel) or is_metadata_file(rel):
            layout.append(rel)
    roots = {}
    for rel in layout:
        parts = rel.split("/")
        if len(parts) >= 2:
            roots.setdefault("/".join(parts[:-2]), []).append(rel)
    if len(roots) > 1:
        sample = sorted(min(v) for v in roots.values())[:2]
        raise ArchiveError(
            "%s holds dump files at different depths (%s); give the dump directory itself "
            "(the one whose subdirectories are the databases)." % (path, ", ".join(sample))
        )
    root = next(iter(roots), "")
    return layout, root + "/" if root else ""


def _versions(path, files, prefix, inventory):
    """The server and tool versions (prelude.json, or the manifest of this collection's
    backup, verified against every file); returns the manifest, or None for a dump."""
    prelude_facts = files.get(prefix + PRELUDE_NAME) or files.get(prefix + PRELUDE_NAME + ".gz")
    if prelude_facts is not None:
        prelude = _load_json(prelude_facts, path, "dump")
        if isinstance(prelude, dict):
            inventory.server_version = prelude.get("ServerVersion")
            inventory.tool_version = prelude.get("ToolVersion")
    manifest = None
    manifest_facts = files.get(prefix + MANIFEST_NAME)
    if manifest_facts is not None:
        manifest = _load_json(manifest_facts, path, "backup")
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            manifest = None
    if manifest is None and str(inventory.tool_version or "").startswith(TOOL_NAME):
        raise ArchiveError(
            "%s was written by %s but its manifest.json is missing; without it the backup "
            "cannot be verified, so it is refused: restore another backup." % (path, TOOL_NAME)
        )
    if manifest is not None:
        _verify_manifest(path, manifest, files, prefix)
        inventory.kind = "backup"
        inventory.manifest = manifest
        inventory.created = manifest.get("created")
        server = manifest.get("server") or {}
        inventory.server_version = server.get("version", inventory.server_version)
        inventory.tool_version = "%s %s" % (
            manifest.get("tool", TOOL_NAME),
            manifest.get("tool_version", ""),
        )
    return manifest


def _collection_name(path, files, rel, metadata):
    """The name of the collection whose data or metadata file is ``rel`` (``metadata``: its
    parsed content, for a metadata file)."""
    filename = rel.rsplit("/", 1)[-1]
    base = _file_base(filename)
    where = "%s: %s" % (path, rel)
    if not is_truncated_file_base(base):
        try:
            return unescape_collection_name(base)
        except UnicodeDecodeError as exc:
            raise ArchiveError("%s does not name a collection (%s)." % (where, exc)) from exc
    # A shortened name: the full one is in the metadata (mongorestore does the same).
    name = None
    if metadata is not None:
        name = metadata.get("collectionName")
    else:
        meta_rel = rel[: -len(filename)] + base + ".metadata.json"
        meta_facts = files.get(meta_rel) or files.get(meta_rel + ".gz")
        if meta_facts is not None:
            name = parse_metadata_json(meta_facts.content, "%s: %s" % (path, meta_rel)).get(
                "collectionName"
            )
    if not name:
        raise ArchiveError(
            "%s has a shortened name and no metadata with the full one; the dump is "
            "incomplete." % where
        )
    return name


def _add_file(path, entry, rel, facts, metadata):
    """A collection's metadata file (``metadata``: its content) or data file, once each."""
    if metadata is not None:
        if entry.metadata_path is not None:
            raise ArchiveError("%s holds two metadata files for %s." % (path, entry.namespace))
        entry.metadata = metadata
        entry.metadata_path = rel
        entry.collection_type = metadata.get("type") or "collection"
    else:
        if entry.data_path is not None:
            raise ArchiveError("%s holds two data files for %s." % (path, entry.namespace))
        entry.data_path = rel
        entry.documents = facts.documents
        entry.size = facts.bson_size
        entry.sha256 = facts.bson_sha256


def _verify_manifest(path, manifest, files, prefix):
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        raise ArchiveError("%s: manifest.json lists no files; the backup is damaged." % path)
    present = set()
    for rel, facts in files.items():
        if rel == prefix + MANIFEST_NAME:
            continue
        name = rel[len(prefix) :] if rel.startswith(prefix) else None
        expected = listed.get(name) if name is not None else None
        if expected is None:
            raise ArchiveError(
                "%s holds %s, which its manifest does not list; the backup was changed after "
                "it was written, so it is refused: restore another backup." % (path, rel)
            )
        present.add(name)
        if expected.get("size") != facts.size or expected.get("sha256") != facts.sha256:
            raise ArchiveError(
                "%s: %s does not match its checksum in the manifest (%d bytes, sha256 %s..., "
                "the manifest says %s bytes, %s...); the backup is damaged: restore another one."
                % (
                    path,
                    rel,
                    facts.size,
                    facts.sha256[:12],
                    expected.get("size"),
                    str(expected.get("sha256"))[:12],
                )
            )
    for name in listed:
        if name not in present:
            raise ArchiveError(
                "%s lacks %s, which its manifest lists; the backup is incomplete: restore "
                "another one." % (path, name)
            )


def _verify_manifest_collections(path, manifest, collections):
    by_ns = {c.namespace: c for c in collections}
    for item in manifest.get("collections") or []:
        ns = "%s.%s" % (item.get("database"), item.get("collection"))
        entry = by_ns.get(ns)
        if entry is None:
            raise ArchiveError(
                "%s: the manifest lists collection %s, which the backup does not hold; it is "
                "damaged: restore another one." % (path, ns)
            )
        if item.get("documents") != entry.documents or item.get("sha256") != entry.sha256:
            raise ArchiveError(
                "%s: collection %s holds %d documents (sha256 %s...), the manifest says %s "
                "(%s...); the backup is damaged: restore another one."
                % (
                    path,
                    ns,
                    entry.documents,
                    entry.sha256[:12],
                    item.get("documents"),
                    str(item.get("sha256"))[:12],
                )
            )
