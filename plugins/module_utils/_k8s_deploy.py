# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the k8s role reads back from the cluster: a failed rollout as a person reads
it (one row per container, or pod, that is not ready, with its reason and the last events
about its pod; printed with _stack_status.stack_table), and the objects of ours the
rendered layout no longer has (to prune)."""

from __future__ import annotations

import json


def _when(event: dict) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def _last_events(events: list, pod: str, count: int = 3) -> str:
    about = sorted(
        (e for e in events if (e.get("involvedObject") or {}).get("name") == pod), key=_when
    )
    return "; ".join(
        f"{e.get('reason', '')}: {e.get('message', '')}".strip() for e in about[-count:]
    )


def _reason(status: dict) -> str:
    """Why a container is not ready: waiting, terminated, or restarted after a failure."""
    for key in ("state", "lastState"):
        state = status.get(key) or {}
        if state.get("waiting"):
            return state["waiting"].get("reason") or "Waiting"
        if state.get("terminated"):
            t = state["terminated"]
            return f"{t.get('reason') or 'Terminated'} (exit {t.get('exitCode', '?')})"
    return "NotReady"


def k8s_unready_rows(pods: list, events: list | None = None) -> list:
    """Rows (pod, container, reason, last_events) of the pods that are not ready: one per
    container that is not, or one for the pod when it has no container status yet
    (unscheduled, or a condition says why)."""
    rows = []
    for pod in pods or []:
        name = pod["metadata"]["name"]
        status = pod.get("status") or {}
        conditions = {c["type"]: c for c in status.get("conditions") or []}
        ready = conditions.get("Ready", {}).get("status") == "True"
        if ready and not pod["metadata"].get("deletionTimestamp"):
            continue
        statuses = [s for s in status.get("containerStatuses") or [] if not s.get("ready")]
        events_text = _last_events(events or [], name)
        if not statuses:
            failing = [c for c in conditions.values() if c.get("status") != "True"]
            reason = next(
                (c.get("reason") for c in failing if c.get("reason")),
                status.get("reason") or status.get("phase") or "NotReady",
            )
            rows.append(
                {"pod": name, "container": "-", "reason": reason, "last_events": events_text}
            )
        for s in statuses:
            rows.append(
                {
                    "pod": name,
                    "container": s["name"],
                    "reason": _reason(s),
                    "last_events": events_text,
                }
            )
    return sorted(rows, key=lambda r: (r["pod"], r["container"]))


def k8s_not_in(found: list, rendered: list) -> list:
    """The objects found in the cluster whose kind and name no rendered object has."""
    keep = {(o["kind"], o["metadata"]["name"]) for o in rendered or []}
    return [o for o in found or [] if (o["kind"], o["metadata"]["name"]) not in keep]


def _status_message(text: str) -> str:
    """The API server's own message out of kubernetes.core's `Failed to ...: {Status}`."""
    _, _, body = text.partition(": ")
    try:
        return str(json.loads(body)["message"])
    except (ValueError, KeyError, TypeError):
        return text


def k8s_dry_run_errors(result: dict, objects: list) -> list:
    """What the API server's dry run refused, one `Kind/name: reason` per object, from a
    kubernetes.core.k8s result run with continue_on_error over objects (one object: its
    result alone, several: result.results in their order)."""
    results = (result.get("result") or {}).get("results")
    if results is None:
        results = [result]
    errors = []
    for obj, outcome in zip(objects, results, strict=False):
        message = _status_message(str((outcome.get("error") or {}).get("msg") or ""))
        if message:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {message}")
    return errors
