# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Grafana's provisioning of the stack: the data sources and the three dashboards of the
architecture, rendered from the normalised catalog."""

from __future__ import annotations


def _panel(pid: int, title: str, exprs: list, x: int, y: int, unit: str = "short") -> dict:
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "prometheus"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(exprs)
        ],
    }


def _dashboard(uid: str, title: str, panels: list) -> dict:
    laid = []
    for i, (title_, exprs, unit) in enumerate(panels):
        laid.append(_panel(i + 1, title_, exprs, (i % 2) * 12, (i // 2) * 8, unit))
    return {
        "uid": uid,
        "title": title,
        "tags": ["vhvcorp"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "panels": laid,
    }


def stack_grafana_dashboards(catalog: dict) -> dict:
    """Three dashboards (file name -> JSON model) with the architecture's metric names."""
    jobs = [
        c["metrics"]["job"]
        for c in catalog["containers"]
        if c["metrics"] and c["kind"] == "service"
    ]
    sel = '{job=~"%s"}' % "|".join(jobs) if jobs else ""
    inner = sel[1:-1] + "," if sel else ""
    overview = _dashboard(
        "vhvcorp-service-overview",
        "Service Overview",
        [
            (
                "Request rate (req/s)",
                [(f"sum by (job) (rate(http_requests_total{sel}[5m]))", "{{job}}")],
                "reqps",
            ),
            (
                "Response time (p50, p95, p99)",
                [
                    (
                        f"histogram_quantile({q}, sum by (le, job) "
                        f"(rate(http_request_duration_seconds_bucket{sel}[5m])))",
                        "{{job}} p" + str(int(q * 100)),
                    )
                    for q in (0.5, 0.95, 0.99)
                ],
                "s",
            ),
            (
                "Error rate (%)",
                [
                    (
                        "100 * sum by (job) "
                        f'(rate(http_requests_total{{{inner}status=~"5.."}}[5m])) '
                        f"/ sum by (job) (rate(http_requests_total{sel}[5m]))",
                        "{{job}}",
                    )
                ],
                "percent",
            ),
            (
                "gRPC calls handled (req/s)",
                [
                    (
                        f"sum by (job, grpc_method) (rate(grpc_server_handled_total{sel}[5m]))",
                        "{{job}} {{grpc_method}}",
                    )
                ],
                "reqps",
            ),
            ("Service health status", [(f"up{sel}", "{{job}}")], "short"),
        ],
    )
    resources = _dashboard(
        "vhvcorp-resource-usage",
        "Resource Usage",
        [
            (
                "CPU usage per service",
                [(f"rate(process_cpu_seconds_total{sel}[5m])", "{{job}}")],
                "percentunit",
            ),
            ("Memory usage per service", [(f"go_memstats_alloc_bytes{sel}", "{{job}}")], "bytes"),
            ("Goroutine count", [(f"go_goroutines{sel}", "{{job}}")], "short"),
            ("GC pause time", [(f"rate(go_gc_duration_seconds_sum{sel}[5m])", "{{job}}")], "s"),
            (
                "Response size",
                [(f"sum by (job) (rate(http_response_size_bytes_sum{sel}[5m]))", "{{job}}")],
                "Bps",
            ),
        ],
    )
    business = _dashboard(
        "vhvcorp-business-metrics",
        "Business Metrics",
        [
            (
                "User registrations (daily)",
                [("sum(increase(user_registrations_total[1d]))", "registrations")],
                "short",
            ),
            (
                "Login attempts",
                [("sum by (status) (rate(login_attempts_total[5m]))", "{{status}}")],
                "reqps",
            ),
            (
                "API calls per endpoint",
                [(f"sum by (path) (rate(http_requests_total{sel}[5m]))", "{{path}}")],
                "reqps",
            ),
            (
                "Notification delivery rate",
                [("sum by (channel) (rate(notifications_sent_total[5m]))", "{{channel}}")],
                "reqps",
            ),
        ],
    )
    return {
        "service-overview.json": overview,
        "resource-usage.json": resources,
        "business-metrics.json": business,
    }


def stack_grafana_datasources(catalog: dict) -> dict:
    """Grafana provisioning of the Prometheus and Jaeger data sources."""
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "uid": "prometheus",
                "type": "prometheus",
                "access": "proxy",
                "url": "http://prometheus:9090",
                "isDefault": True,
            },
            {
                "name": "Jaeger",
                "uid": "jaeger",
                "type": "jaeger",
                "access": "proxy",
                "url": "http://jaeger:16686",
            },
        ],
    }
