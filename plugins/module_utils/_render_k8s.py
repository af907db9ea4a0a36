# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Kubernetes manifests of the stack, rendered from the normalised catalog
(_catalog.stack_catalog), as a kustomize layout: base plus the overlays local, dev and prod.

One renderer per object kind: the settings (a ConfigMap of the non-secret .env keys, a
Secret of the secret ones and a Secret holding the .env file the services read in their
working directory), per service a Deployment and a Service, per infrastructure component a
StatefulSet with its data claim (or an ExternalName Service when it runs elsewhere), and
for prod PodDisruptionBudgets, HorizontalPodAutoscalers and NetworkPolicies. Every object
carries the label MANAGED_BY, which the deploy playbook prunes by and by nothing else.
"""

from __future__ import annotations

import base64
import re

from ansible_collections.vhvcorp.devtools.plugins.module_utils import dotenv
from ansible_collections.vhvcorp.devtools.plugins.module_utils._catalog import fail

OVERLAYS = ("local", "dev", "prod")
MANAGED_BY = {"app.kubernetes.io/managed-by": "vhvcorp.devtools"}
FIELD_MANAGER = "vhvcorp.devtools"
# The path every service answers while it is alive (the real services: /health); its
# readiness is its catalog health_path.
LIVENESS_PATH = "/health"
# A port of every Service named `metrics`, onto the container's HTTP port, that a
# ServiceMonitor can select by name.
METRICS_PORT = 9102
SERVICE_UID = 65532  # a non-root user id, as distroless images use
DEFAULTS = {
    "replicas": {"local": 1, "dev": 1, "prod": 3},
    "min_ready_seconds": 10,
    "storage": "1Gi",
    "storage_class": None,
    "external": {},
    "config_files": {},
    "image_tag": None,
    "pod_annotations": {},
    # The Service the Ingress routes to (none: no Ingress), its host (default
    # <project>.localhost) and its ingress class (none: the cluster's default).
    "ingress_service": "api-gateway",
    "ingress_host": None,
    "ingress_class": None,
}
_MEMORY_UNITS = {"": "", "b": "", "k": "Ki", "m": "Mi", "g": "Gi"}
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")


def _options(options: dict | None) -> dict:
    o = {**DEFAULTS, **(options or {})}
    o["replicas"] = {**DEFAULTS["replicas"], **(o.get("replicas") or {})}
    for overlay, count in o["replicas"].items():
        if not isinstance(count, int) or count < 1:
            fail(f"k8s_replicas.{overlay} is {count!r}; give a whole number of 1 or more.")
    # -e k8s_min_ready_seconds=20 comes as text: the API takes a number only.
    seconds = str(o["min_ready_seconds"])
    if not seconds.isdigit():
        fail(f"k8s_min_ready_seconds is {seconds!r}; give a whole number of seconds (0 or more).")
    o["min_ready_seconds"] = int(seconds)
    return o


def memory(value: str) -> str:
    """Compose's memory (256m, 1g, 1.5g) as a Kubernetes quantity (256Mi, 1Gi, 1536Mi)."""
    number, unit = re.match(r"^(\d+(?:\.\d+)?)([bkmg]?)$", value.lower()).groups()
    if "." in number:  # a quantity takes no fraction with a binary suffix: one unit down
        factor = {"k": 1024, "m": 1024, "g": 1024}.get(unit, 1)
        number, unit = str(int(float(number) * factor)), {"k": "b", "m": "k", "g": "m"}[unit]
    return number + _MEMORY_UNITS[unit]


def cpu(cpus: float) -> str:
    return f"{round(cpus * 1000)}m"


def labels(catalog: dict, name: str | None = None, kind: str | None = None) -> dict:
    result = {"app.kubernetes.io/part-of": catalog["project"], **MANAGED_BY}
    if name:
        result["app.kubernetes.io/name"] = name
    if kind:
        result["app.kubernetes.io/component"] = kind
    return result


def selector(catalog: dict, name: str) -> dict:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": catalog["project"]}


def _meta(catalog: dict, name: str, container: dict | None = None) -> dict:
    return {
        "name": name,
        "labels": labels(
            catalog,
            container["name"] if container else None,
            container["kind"] if container else None,
        ),
    }


# --- settings ------------------------------------------------------------------------------


def settings_names(catalog: dict) -> dict:
    project = catalog["project"]
    return {
        "config": f"{project}-settings",
        "secret": f"{project}-secrets",
        "env_file": f"{project}-env-file",
    }


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def k8s_settings(catalog: dict, env: dict, secret_keys) -> list:
    """The ConfigMap of the non-secret keys, the Secret of the secret ones, and the Secret
    holding the whole .env file (the services read it from their working directory)."""
    names = settings_names(catalog)
    plain = {k: str(v) for k, v in env.items() if k not in secret_keys}
    hidden = {k: str(v) for k, v in env.items() if k in secret_keys}
    env_file = "".join(dotenv.format_line(k, str(v)) + "\n" for k, v in env.items())
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(catalog, names["config"]),
            "data": plain,
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": _meta(catalog, names["secret"]),
            "type": "Opaque",
            # data, not stringData: an apply of the same values changes nothing.
            "data": {k: _b64(v) for k, v in hidden.items()},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": _meta(catalog, names["env_file"]),
            "type": "Opaque",
            "data": {".env": _b64(env_file)},
        },
    ]


# --- workloads -----------------------------------------------------------------------------


def _env(catalog: dict, container: dict, secret_keys: set) -> list:
    """The container's own variables; ${KEY} (a .env key) becomes $(KEY), which Kubernetes
    expands from the variables before it. A service reads every .env key (envFrom); an
    infrastructure component gets only the keys its variables refer to, each from the
    ConfigMap or, for a secret, the Secret."""
    names = settings_names(catalog)
    own = sorted(container["environment"].items())
    env = []
    if container["kind"] != "service":
        for key in sorted({k for _, v in own for k in _REFERENCE.findall(v)}):
            source = (
                {"secretKeyRef": {"name": names["secret"], "key": key}}
                if key in secret_keys
                else {"configMapKeyRef": {"name": names["config"], "key": key}}
            )
            env.append({"name": key, "valueFrom": source})
    return env + [{"name": k, "value": _REFERENCE.sub(r"$(\1)", v)} for k, v in own]


def _resources(container: dict) -> dict:
    limits = container["limits"]
    return {
        "requests": {"cpu": cpu(limits["cpus"] / 2), "memory": memory(limits["memory"])},
        "limits": {"cpu": cpu(limits["cpus"]), "memory": memory(limits["memory"])},
    }


def _seconds(duration: str, minimum: int = 1) -> int:
    """A compose duration (500ms, 10s, 1m) in whole seconds, rounded up, at least minimum."""
    number, unit = re.match(r"^(\d+)(ms|s|m|h)$", duration).groups()
    scale = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}[unit]
    return max(minimum, -(-int(number) * scale // 1000))


def _probe_timing(health: dict) -> dict:
    return {
        "periodSeconds": _seconds(health["interval"]),
        "timeoutSeconds": _seconds(health["timeout"]),
        "failureThreshold": health["retries"],
    }


def _exec_probe(container: dict) -> dict:
    """An infrastructure component's compose health test as an exec probe."""
    test = container["healthcheck"]["test"]
    command = list(test[1:]) if test[0] == "CMD" else ["sh", "-c", " ".join(test[1:])]
    return {
        "exec": {"command": command},
        "initialDelaySeconds": _seconds(container["healthcheck"]["start_period"], 0),
        **_probe_timing(container["healthcheck"]),
    }


def _ports(container: dict) -> list:
    return [
        {"name": p["name"], "containerPort": p["container"], "protocol": p["protocol"].upper()}
        for p in container["ports"]
    ]


def _scrape_annotations(container: dict) -> dict:
    if not container["metrics"]:
        return {}
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(container["ports"][0]["container"]),
        "prometheus.io/path": container["metrics"]["path"],
    }


def _pod_template(
    catalog: dict, container: dict, spec: dict, extra_annotations: dict | None = None
) -> dict:
    """The pod template: the selector's labels, the scrape annotations and the ones the
    user gives for this container (k8s_pod_annotations: a mesh's injection, a node
    simulator's stage...)."""
    annotations = {
        **_scrape_annotations(container),
        **{str(k): str(v) for k, v in (extra_annotations or {}).items()},
    }
    metadata = {"labels": {**selector(catalog, container["name"]), **labels(catalog)}}
    if annotations:
        metadata["annotations"] = annotations
    return {"metadata": metadata, "spec": spec}


def k8s_deployment(
    catalog: dict,
    container: dict,
    secret_keys: set,
    min_ready_seconds: int,
    annotations: dict | None = None,
) -> dict:
    """A service's Deployment: probes from its health path, resources from its limits, a
    non-root user and a read-only root file system, a rolling update that keeps every
    ready pod until its successor has been ready for min_ready_seconds."""
    names = settings_names(catalog)
    http = container["ports"][0]["name"]
    timing = _probe_timing(container["healthcheck"])
    spec_container = {
        "name": container["name"],
        "image": container["image"],
        "imagePullPolicy": "IfNotPresent",
        "workingDir": container["working_dir"],
        "ports": _ports(container),
        "envFrom": [
            {"configMapRef": {"name": names["config"]}},
            {"secretRef": {"name": names["secret"]}},
        ],
        "env": _env(catalog, container, secret_keys),
        "readinessProbe": {
            "httpGet": {"path": container["health_path"], "port": http},
            **timing,
        },
        "livenessProbe": {
            "httpGet": {"path": LIVENESS_PATH, "port": http},
            "initialDelaySeconds": _seconds(container["healthcheck"]["start_period"], 0),
            **timing,
        },
        "resources": _resources(container),
        "securityContext": {
            "privileged": False,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {
                "name": "env-file",
                "mountPath": f"{container['working_dir']}/.env",
                "subPath": ".env",
                "readOnly": True,
            },
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - the read-only root's scratch
        ],
    }
    pod = {
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": SERVICE_UID,
            "runAsGroup": SERVICE_UID,
            "fsGroup": SERVICE_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [spec_container],
        "volumes": [
            {"name": "env-file", "secret": {"secretName": names["env_file"]}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(catalog, container["name"], container),
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 5,
            "minReadySeconds": min_ready_seconds,
            "progressDeadlineSeconds": 300,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "selector": {"matchLabels": selector(catalog, container["name"])},
            "template": _pod_template(catalog, container, pod, annotations),
        },
    }


def k8s_statefulset(catalog: dict, container: dict, secret_keys: set, options: dict) -> list:
    """An infrastructure component: a StatefulSet whose data directory is a claim of its
    own, and the ConfigMap of its configuration files when it has a config directory."""
    name = container["name"]
    data = [v for v in container["volumes"] if v["type"] == "volume"]
    mounts = [{"name": "data", "mountPath": v["target"]} for v in data]
    volumes, objects = [], []
    if container["config_dir"]:
        files = (options["config_files"] or {}).get(name)
        if not files:
            fail(
                f"{name} reads configuration files from a directory, and k8s_config_files "
                f"has none for it; pass the stack role's rendered files as "
                f"k8s_config_files.{name} (file name -> text)."
            )
        config_target = next(v["target"] for v in container["volumes"] if v["type"] == "bind")
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": _meta(catalog, f"{name}-config", container),
                "data": {k: str(v) for k, v in sorted(files.items())},
            }
        )
        mounts.append({"name": "config", "mountPath": config_target, "readOnly": True})
        volumes.append({"name": "config", "configMap": {"name": f"{name}-config"}})
    spec_container = {
        "name": name,
        "image": container["image"],
        "imagePullPolicy": "IfNotPresent",
        "ports": _ports(container),
        "env": _env(catalog, container, secret_keys),
        "readinessProbe": _exec_probe(container),
        "livenessProbe": _exec_probe(container),
        "resources": _resources(container),
        "securityContext": {"privileged": False},
        "volumeMounts": mounts,
    }
    if container["command"]:
        spec_container["args" if container["command"][0].startswith("-") else "command"] = list(
            container["command"]
        )
    pod = {"automountServiceAccountToken": False, "containers": [spec_container]}
    if volumes:
        pod["volumes"] = volumes
    claim = {
        "metadata": {"name": "data", "labels": labels(catalog, name, container["kind"])},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": str(options["storage"])}},
        },
    }
    if options["storage_class"]:
        claim["spec"]["storageClassName"] = options["storage_class"]
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(catalog, name, container),
        "spec": {
            "replicas": 1,
            "serviceName": name,
            "minReadySeconds": options["min_ready_seconds"],
            "selector": {"matchLabels": selector(catalog, name)},
            "template": _pod_template(
                catalog, container, pod, options["pod_annotations"].get(name)
            ),
        },
    }
    if data:
        statefulset["spec"]["volumeClaimTemplates"] = [claim]
    return [*objects, statefulset]


def k8s_service(catalog: dict, container: dict) -> dict:
    """The Service of a container: its ports by name, and a `metrics` port where it is
    scraped; headless for a StatefulSet (each member keeps its own address)."""
    ports = [
        {
            "name": p["name"],
            "port": p["container"],
            "targetPort": p["name"],
            "protocol": p["protocol"].upper(),
        }
        for p in container["ports"]
    ]
    if container["metrics"]:
        ports.append(
            {
                "name": "metrics",
                "port": METRICS_PORT,
                "targetPort": container["ports"][0]["name"],
                "protocol": "TCP",
            }
        )
    spec = {"type": "ClusterIP", "selector": selector(catalog, container["name"]), "ports": ports}
    if container["kind"] == "infrastructure":
        spec["clusterIP"] = "None"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(catalog, container["name"], container),
        "spec": spec,
    }


def k8s_external_service(catalog: dict, container: dict, host: str) -> dict:
    """A component that runs outside the cluster: its name resolves to that host, so the
    services' settings (mongodb://mongodb:27017, ...) reach it unchanged."""
    if not _HOST.match(str(host)):
        fail(
            f"k8s_external.{container['name']} is {host!r}; give the host name the "
            "component runs at (db.example.com), without scheme or port."
        )
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(catalog, container["name"], container),
        "spec": {"type": "ExternalName", "externalName": str(host)},
    }


def k8s_ingress(catalog: dict, container: dict, host: str | None, ingress_class) -> dict:
    """The Ingress of the gateway: every path of its host to the Service's HTTP port, by
    name (the port the platform's own Ingress targets is one its Service never had)."""
    host = host or f"{catalog['project']}.localhost"
    if not _HOST.match(str(host)):
        fail(f"k8s_ingress_host is {host!r}; give a host name (api.example.com).")
    spec = {
        "rules": [
            {
                "host": str(host),
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {
                                "service": {
                                    "name": container["name"],
                                    "port": {"name": container["ports"][0]["name"]},
                                }
                            },
                        }
                    ]
                },
            }
        ]
    }
    if ingress_class:
        spec["ingressClassName"] = str(ingress_class)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(catalog, container["name"], container),
        "spec": spec,
    }


# --- prod ----------------------------------------------------------------------------------


def k8s_disruption_budget(catalog: dict, container: dict) -> dict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(catalog, container["name"], container),
        "spec": {
            "minAvailable": 1,
            "selector": {"matchLabels": selector(catalog, container["name"])},
        },
    }


def k8s_autoscaler(catalog: dict, container: dict, replicas: int) -> dict:
    """Scale a service out at 70% CPU or 80% memory of its requests, as the platform's own
    manifests intend."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(catalog, container["name"], container),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": container["name"],
            },
            "minReplicas": replicas,
            "maxReplicas": replicas * 3,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": name,
                        "target": {"type": "Utilization", "averageUtilization": target},
                    },
                }
                for name, target in (("cpu", 70), ("memory", 80))
            ],
        },
    }


def k8s_network_policies(catalog: dict) -> list:
    """No traffic into the namespace's pods but from its own pods."""
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta(catalog, "default-deny-ingress"),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta(catalog, "allow-same-namespace"),
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
            },
        },
    ]


# --- layout --------------------------------------------------------------------------------


def namespace_of(catalog: dict, overlay: str) -> str:
    return catalog["project"] if overlay == "local" else f"{catalog['project']}-{overlay}"


def k8s_namespace(catalog: dict, overlay: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _meta(catalog, namespace_of(catalog, overlay)),
    }


def _kustomization(resources: list, **fields) -> dict:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
        **fields,
    }


def k8s_layout(catalog: dict, env: dict, secret_keys, options: dict | None = None) -> dict:
    """The kustomize layout: relative path -> content (a list of objects, one file of
    several documents, or a kustomization). base/ holds every object; each overlay sets
    its namespace and replicas, and prod (only with options' image_tag) pins the image
    tags and adds budgets, autoscalers and network policies."""
    o = _options(options)
    external = dict(o["external"] or {})
    unknown = sorted(set(external) - set(catalog["infrastructure"]))
    if unknown:
        fail(
            f"k8s_external names {unknown}, which are not infrastructure components of this "
            f"profile; known: {catalog['infrastructure']}."
        )
    names = [c["name"] for c in catalog["containers"]]
    unknown = sorted(set(o["pod_annotations"] or {}) - set(names))
    if unknown:
        fail(
            f"k8s_pod_annotations names {unknown}, which this profile does not run; known: {names}."
        )
    o["pod_annotations"] = dict(o["pod_annotations"] or {})
    secret_keys = set(secret_keys)
    files = {"base/settings.yaml": k8s_settings(catalog, env, secret_keys)}
    services = [c for c in catalog["containers"] if c["kind"] == "service"]
    for c in catalog["containers"]:
        if c["kind"] == "service":
            objects = [
                k8s_deployment(
                    catalog,
                    c,
                    secret_keys,
                    o["min_ready_seconds"],
                    o["pod_annotations"].get(c["name"]),
                ),
                k8s_service(catalog, c),
            ]
        elif c["name"] in external:
            objects = [k8s_external_service(catalog, c, external[c["name"]])]
        else:
            objects = [*k8s_statefulset(catalog, c, secret_keys, o), k8s_service(catalog, c)]
        files[f"base/{c['kind']}/{c['name']}.yaml"] = objects
    gateway = [c for c in services if c["name"] == o["ingress_service"]]
    if o["ingress_service"] and not gateway:
        fail(
            f"k8s_ingress_service is {o['ingress_service']!r}, which is not a service of this "
            f"profile; known: {[c['name'] for c in services]} (empty: no Ingress)."
        )
    if gateway:
        files["base/ingress.yaml"] = [
            k8s_ingress(catalog, gateway[0], o["ingress_host"], o["ingress_class"])
        ]
    files["base/kustomization.yaml"] = _kustomization(sorted(p[5:] for p in files))

    # prod pins the services' images to a release: without one there is no prod overlay.
    for overlay in OVERLAYS if o["image_tag"] else OVERLAYS[:-1]:
        replicas = o["replicas"][overlay]
        root = f"overlays/{overlay}"
        files[f"{root}/namespace.yaml"] = [k8s_namespace(catalog, overlay)]
        resources = ["../../base", "namespace.yaml"]
        fields = {
            "namespace": namespace_of(catalog, overlay),
            "replicas": [{"name": c["name"], "count": replicas} for c in services],
        }
        if overlay == "prod":
            tag = o["image_tag"]
            if str(tag) == "latest":
                fail(
                    f"k8s_image_tag is {tag!r}; prod runs pinned images: give the release "
                    "tag (v1.4.2) or digest (sha256:...) of the services' images."
                )
            files[f"{root}/prod.yaml"] = [
                *(k8s_disruption_budget(catalog, c) for c in services),
                *(k8s_autoscaler(catalog, c, replicas) for c in services),
                *k8s_network_policies(catalog),
            ]
            resources.append("prod.yaml")
            fields["images"] = [_pinned(c["image"], str(tag)) for c in services]
        files[f"{root}/kustomization.yaml"] = _kustomization(resources, **fields)
    return files


def _pinned(image: str, tag: str) -> dict:
    name = re.sub(r"(@sha256:[0-9a-f]+|:[^/:]+)$", "", image)
    if tag.startswith("sha256:"):
        return {"name": name, "digest": tag}
    return {"name": name, "newTag": tag}


def k8s_port_forwards(catalog: dict, overlay: str = "local", options: dict | None = None) -> dict:
    """What port-forward.yml forwards: the overlay's namespace and, per port of every
    container that runs in the cluster, its Service, port and the port on 127.0.0.1 (the
    compose stack's host port, plus options' offset)."""
    o = {"external": {}, "offset": 0, **(options or {})}
    return {
        "namespace": namespace_of(catalog, overlay),
        "forwards": [
            {
                "service": c["name"],
                "port": p["container"],
                "local_port": p["host"] + int(o["offset"]),
            }
            for c in catalog["containers"]
            if c["name"] not in (o["external"] or {})
            for p in c["ports"]
        ],
    }
