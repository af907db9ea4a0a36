# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The stack's filters: the catalog normalised once (module_utils/_catalog.py) and one
renderer per artefact (module_utils/_render_*.py: compose, Kubernetes, Prometheus, Grafana,
RabbitMQ, health endpoints, editor configuration), each service's outcome and the final table
(module_utils/_service_outcomes.py), with their errors as filter errors; the .env's
service URLs and ports come from module_utils/dotenv.py's schema.

The logic lives in module_utils so that modules can share it with these filters; this
file only names the filters and translates CatalogError into AnsibleFilterError.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from ansible.errors import AnsibleFilterError
from ansible.parsing.yaml.dumper import AnsibleDumper
from ansible_collections.vhvcorp.devtools.plugins.module_utils import (
    _catalog,
    _env_schema,
    _k8s_deploy,
    _render_compose,
    _render_editor,
    _render_grafana,
    _render_health,
    _render_k8s,
    _render_prometheus,
    _render_rabbitmq,
    _service_outcomes,
    _stack_status,
    dotenv,
)

DOCUMENTATION = """
name: stack_catalog
short_description: Normalise the stack's catalog; render compose files and configuration from it.
description:
  - C(stack_catalog) turns the service catalog, the infrastructure components, the profile
    and the image source into one list of containers; the other filters of this file
    render from that list.
"""


def _filter(function):
    """The function as a filter: a CatalogError becomes an AnsibleFilterError."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except _catalog.CatalogError as exc:
            raise AnsibleFilterError(str(exc)) from exc

    return run


# The collection's root (plugins/filter/ -> the root): the devtools checkout with the
# Makefile when the collection runs from one, where the editor's tasks run make unless the
# workspace role names another.
DEVTOOLS_DIR = Path(__file__).resolve().parents[2]


def _vscode_tasks(targets: list, cwd: str = "") -> dict:
    """tasks.json's make targets, run in ``cwd`` or else in this collection's checkout."""
    return _render_editor.vscode_tasks(targets, cwd or str(DEVTOOLS_DIR))


def _dotenv_values(text: str) -> dict:
    """KEY -> value of a .env, parsed as the workspace role writes it (module_utils.dotenv)."""
    try:
        return dotenv.parse(str(text)).values()
    except dotenv.DotenvError as exc:
        raise _catalog.CatalogError(f"The workspace .env cannot be read: {exc}") from exc


def _k8s_layout(catalog: dict, env: dict, services: list, options: dict | None = None) -> dict:
    """The kustomize layout of the catalog; which .env keys are secret comes from the .env
    schema (module_utils/_env_schema.py), expanded for these services."""
    try:
        schema = dotenv.build_schema(_env_schema.SCHEMA, services)
    except dotenv.SchemaError as exc:
        raise _catalog.CatalogError(f"The .env schema cannot be built: {exc}") from exc
    secret_keys = {key for key in env if schema.is_secret(key)}
    return _render_k8s.k8s_layout(catalog, env, secret_keys, options)


def _k8s_files(catalog: dict, env: dict, services: list, options: dict | None = None) -> dict:
    """The layout's files: relative path -> YAML text (several objects: one document each)."""

    def text(content) -> str:
        # Ansible's dumper: the values of a play are Ansible's own string types.
        documents = content if isinstance(content, list) else [content]
        return yaml.dump_all(documents, Dumper=AnsibleDumper, sort_keys=False)

    return {path: text(c) for path, c in _k8s_layout(catalog, env, services, options).items()}


stack_catalog = _filter(_catalog.stack_catalog)
stack_image_source = _filter(_catalog.stack_image_source)
stack_compose = _filter(_render_compose.stack_compose)
stack_k8s_layout = _filter(_k8s_layout)
stack_k8s_files = _filter(_k8s_files)
k8s_unready_rows = _filter(_k8s_deploy.k8s_unready_rows)
k8s_not_in = _filter(_k8s_deploy.k8s_not_in)
stack_k8s_port_forwards = _filter(_render_k8s.k8s_port_forwards)
k8s_dry_run_errors = _filter(_k8s_deploy.k8s_dry_run_errors)
stack_prometheus_config = _filter(_render_prometheus.stack_prometheus_config)
stack_prometheus_rules = _filter(_render_prometheus.stack_prometheus_rules)
stack_grafana_dashboards = _filter(_render_grafana.stack_grafana_dashboards)
stack_grafana_datasources = _filter(_render_grafana.stack_grafana_datasources)
rabbitmq_definitions = _filter(_render_rabbitmq.rabbitmq_definitions)
rabbitmq_password_hash = _filter(_render_rabbitmq.rabbitmq_password_hash)
stack_health_endpoints = _filter(_render_health.stack_health_endpoints)
stack_endpoints = _filter(_render_health.stack_endpoints)
stack_web_url = _filter(_render_health.stack_web_url)
stack_test_environment = _filter(_render_health.stack_test_environment)
stack_status_rows = _filter(_stack_status.stack_status_rows)
stack_table = _filter(_stack_status.stack_table)
stack_unhealthy = _filter(_stack_status.stack_unhealthy)
stack_use_demo = _filter(_service_outcomes.use_demo)
stack_service_outcomes = _filter(_service_outcomes.service_outcomes)
stack_service_report = _filter(_service_outcomes.service_report)
stack_report_table_rows = _filter(_service_outcomes.report_table_rows)
stack_report_failure = _filter(_service_outcomes.report_failure)
dotenv_values = _filter(_dotenv_values)
workspace_vscode_launch = _filter(_render_editor.vscode_launch)
workspace_vscode_tasks = _filter(_vscode_tasks)
workspace_host_addresses = _filter(_render_editor.host_addresses)
workspace_go_workfiles = _filter(_catalog.go_workfiles)


class FilterModule:
    def filters(self):
        return {
            "stack_catalog": stack_catalog,
            "stack_image_source": stack_image_source,
            "stack_compose": stack_compose,
            "stack_k8s_layout": stack_k8s_layout,
            "stack_k8s_files": stack_k8s_files,
            "k8s_unready_rows": k8s_unready_rows,
            "k8s_not_in": k8s_not_in,
            "k8s_dry_run_errors": k8s_dry_run_errors,
            "stack_k8s_port_forwards": stack_k8s_port_forwards,
            "stack_health_endpoints": stack_health_endpoints,
            "stack_test_environment": stack_test_environment,
            "stack_prometheus_config": stack_prometheus_config,
            "stack_prometheus_rules": stack_prometheus_rules,
            "stack_grafana_dashboards": stack_grafana_dashboards,
            "stack_grafana_datasources": stack_grafana_datasources,
            "rabbitmq_definitions": rabbitmq_definitions,
            "rabbitmq_password_hash": rabbitmq_password_hash,
            "stack_status_rows": stack_status_rows,
            "stack_table": stack_table,
            "dotenv_values": dotenv_values,
            "stack_unhealthy": stack_unhealthy,
            "stack_use_demo": stack_use_demo,
            "stack_service_outcomes": stack_service_outcomes,
            "stack_service_report": stack_service_report,
            "stack_report_table_rows": stack_report_table_rows,
            "stack_report_failure": stack_report_failure,
            "stack_endpoints": stack_endpoints,
            "stack_web_url": stack_web_url,
            "workspace_vscode_launch": workspace_vscode_launch,
            "workspace_vscode_tasks": workspace_vscode_tasks,
            "workspace_host_addresses": workspace_host_addresses,
            "workspace_go_workfiles": workspace_go_workfiles,
        }
