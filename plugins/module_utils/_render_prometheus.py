# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Prometheus' configuration of the stack: one scrape job per container with metrics, and the
alert rules of the architecture, rendered from the normalised catalog."""

from __future__ import annotations


def stack_prometheus_config(catalog: dict, scrape_interval: str = "15s") -> dict:
    """prometheus.yml: one scrape job per container with metrics, and the alert rules."""
    jobs = []
    for c in catalog["containers"]:
        m = c["metrics"]
        if not m:
            continue
        target = "localhost:9090" if c["name"] == "prometheus" else m["target"]
        jobs.append(
            {
                "job_name": m["job"],
                "metrics_path": m["path"],
                "scrape_interval": str(scrape_interval),
                "static_configs": [{"targets": [target], "labels": {"kind": c["kind"]}}],
            }
        )
    return {
        "global": {
            "scrape_interval": str(scrape_interval),
            "evaluation_interval": str(scrape_interval),
        },
        "rule_files": ["/etc/prometheus/alerts.yml"],
        "scrape_configs": jobs,
    }


def stack_prometheus_rules(catalog: dict) -> dict:
    """alerts.yml: HighErrorRate and ServiceDown (over every scrape job), as the architecture."""
    jobs = [c["metrics"]["job"] for c in catalog["containers"] if c["metrics"]]
    rules = [
        {
            "alert": "HighErrorRate",
            "expr": 'sum by (job) (rate(http_requests_total{status=~"5.."}[5m])) > 0.05',
            "for": "5m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "High error rate detected on {{ $labels.job }}",
                "description": "{{ $labels.job }} answers more than 0.05 5xx responses per second.",
            },
        }
    ]
    if jobs:
        rules.append(
            {
                "alert": "ServiceDown",
                "expr": f'up{{job=~"{"|".join(jobs)}"}} == 0',
                "for": "1m",
                "labels": {"severity": "critical"},
                "annotations": {
                    "summary": "{{ $labels.job }} is down",
                    "description": "Prometheus could not scrape {{ $labels.job }} for a minute.",
                },
            }
        )
    return {"groups": [{"name": "service_alerts", "rules": rules}]}
