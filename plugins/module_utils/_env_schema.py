# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform's .env, as data: every variable the services read, in the order the
workspace .env lists them. Source: the architecture document, "Configuration
Management / Environment Variables" ("Complete .env Example").

The default schema of the workspace_env and env_validate modules: Python, so it travels
with them to any host (no file to find, no PyYAML needed there). Each section has a name
(the comment header above its variables), a description and either `variables` or
`per_service`.

A variable:
  name         the key in the .env
  default      its value when the key is missing from the file (a string; `${KEY}`
               refers to another key, as godotenv, Compose env_file and VS Code expand it)
  type         string, int, port, duration, url, bool, email, list or secret
  description  what the services do with it
  required     the services refuse to start without a non-empty value
  generate     secrets only: how to generate a missing or empty value, once
               ({bytes: N, encoding: base64|hex|urlsafe}); `false` keeps it as it is
  was          its name in an older schema: a file with that key gives its value to this
               one (when the file lacks this key, or the older name is no key any more, and
               is then dropped), so a rename keeps the user's value

`stale` (at the top, beside `sections`): key -> values that an older schema wrote as the
key's default and that are wrong now. A file whose key still holds one of them gets the
key's current default instead (once: the new value is not stale); a value the user chose
is kept.

`per_service` variables are repeated for each service of the catalog (devtools_services:
name, http_port, grpc_port, env_prefix): `{env_prefix}`, `{name}`, `{http_port}` and
`{grpc_port}` are replaced with the service's values; `when: grpc_port` keeps a
variable only for services that have one.
"""

SCHEMA = {
    # notification-service had gRPC port 50054 in the catalog before the real platform's
    # (which has none): its URL was written as that gRPC address, and the gateway would
    # call it there; now it is http://notification-service:<its HTTP port>.
    "stale": {"NOTIFICATION_SERVICE_URL": ["notification-service:50054"]},
    "sections": [
        {
            "name": "Application",
            "description": "What runs, and how loudly it logs.",
            "variables": [
                {
                    "name": "ENVIRONMENT",
                    "default": "development",
                    "type": "string",
                    "description": "Deployment environment (development, staging, production).",
                    "required": True,
                },
                {
                    "name": "LOG_LEVEL",
                    "default": "debug",
                    "type": "string",
                    "description": "Log level of every service (debug, info, warn, error).",
                    "required": True,
                },
                {
                    "name": "APP_NAME",
                    "default": "saas-platform",
                    "type": "string",
                    "description": "Name the services report in logs, traces and metrics.",
                    "required": True,
                },
            ],
        },
        {
            "name": "API Gateway",
            "description": "Limits of the gateway in front of the services.",
            "variables": [
                {
                    "name": "API_GATEWAY_TIMEOUT",
                    "default": "30s",
                    "type": "duration",
                    "description": "Longest the gateway waits for a service's answer.",
                    "required": True,
                },
                {
                    "name": "API_GATEWAY_MAX_BODY_SIZE",
                    "default": "10MB",
                    "type": "string",
                    "description": "Largest request body the gateway accepts.",
                    "required": True,
                },
            ],
        },
        {
            "name": "Services",
            "description": "Ports and addresses of the services, from the service catalog, "
            "named as the services read them (go-shared): <PREFIX>_HTTP_PORT and "
            "<PREFIX>_PORT (gRPC) for a service with gRPC, <PREFIX>_PORT (HTTP) for "
            "one without; <PREFIX>_URL is where the others call it (gRPC where it has "
            "it, HTTP otherwise).",
            "per_service": [
                {
                    "name": "{env_prefix}_HTTP_PORT",
                    "default": "{http_port}",
                    "type": "port",
                    "description": "HTTP port of {name} (health and metrics).",
                    "required": True,
                    "when": "grpc_port",
                    "was": "{env_prefix}_PORT",
                },
                {
                    "name": "{env_prefix}_PORT",
                    "default": "{grpc_port}",
                    "type": "port",
                    "description": "gRPC port of {name} (go-shared's <PREFIX>_PORT).",
                    "required": True,
                    "when": "grpc_port",
                    "was": "{env_prefix}_GRPC_PORT",
                },
                {
                    "name": "{env_prefix}_PORT",
                    "default": "{http_port}",
                    "type": "port",
                    "description": "HTTP port of {name}, which has no gRPC.",
                    "required": True,
                    "when": "not grpc_port",
                    # A service that lost its gRPC port (notification: the real one has
                    # none) keeps its HTTP port's value under its new name.
                    "was": "{env_prefix}_HTTP_PORT",
                },
                {
                    "name": "{env_prefix}_URL",
                    "default": "{name}:{grpc_port}",
                    "type": "url",
                    "description": "gRPC address (host:port) the other services call {name} at.",
                    "required": True,
                    "when": "grpc_port",
                },
                {
                    "name": "{env_prefix}_URL",
                    "default": "http://{name}:{http_port}",
                    "type": "url",
                    "description": "HTTP address of {name}.",
                    "required": True,
                    "when": "not grpc_port",
                },
            ],
        },
        {
            "name": "JWT",
            "description": "Signing of the access tokens the auth service issues.",
            "variables": [
                {
                    "name": "JWT_SECRET",
                    "default": "",
                    "type": "secret",
                    "description": "HMAC key of the tokens: 64 random bytes, "
                    "base64-encoded (88 characters). The services use "
                    "the string itself as the key (Go's "
                    "[]byte(os.Getenv(...))).",
                    "required": True,
                    "generate": {"bytes": 64, "encoding": "base64"},
                },
                {
                    "name": "JWT_EXPIRATION",
                    "default": "24h",
                    "type": "duration",
                    "description": "Lifetime of an access token.",
                    "required": True,
                },
                {
                    "name": "JWT_ISSUER",
                    "default": "saas-platform",
                    "type": "string",
                    "description": "The tokens' `iss` claim.",
                    "required": True,
                },
                {
                    "name": "JWT_ALGORITHM",
                    "default": "HS256",
                    "type": "string",
                    "description": "Signing algorithm of the tokens.",
                    "required": True,
                },
            ],
        },
        {
            "name": "MongoDB",
            "description": "The document database of every service.",
            "variables": [
                {
                    "name": "MONGODB_URI",
                    "default": "mongodb://mongodb:27017",
                    "type": "url",
                    "description": "Connection string of the MongoDB server.",
                    "required": True,
                },
                {
                    "name": "MONGODB_DATABASE",
                    "default": "go_dev",
                    "type": "string",
                    "description": "Database the services use.",
                    "required": True,
                },
                {
                    "name": "MONGODB_MAX_POOL_SIZE",
                    "default": "100",
                    "type": "int",
                    "description": "Largest connection pool per service.",
                    "required": False,
                },
                {
                    "name": "MONGODB_MIN_POOL_SIZE",
                    "default": "10",
                    "type": "int",
                    "description": "Connections kept open per service.",
                    "required": False,
                },
                {
                    "name": "MONGODB_MAX_IDLE_TIME",
                    "default": "60s",
                    "type": "duration",
                    "description": "How long an idle pooled connection stays open.",
                    "required": False,
                },
            ],
        },
        {
            "name": "Redis",
            "description": "Cache, sessions and rate-limit counters.",
            "variables": [
                {
                    "name": "REDIS_HOST",
                    "default": "redis",
                    "type": "string",
                    "description": "Host name of the Redis server (go-shared reads it).",
                    "required": True,
                },
                {
                    "name": "REDIS_PORT",
                    "default": "6379",
                    "type": "port",
                    "description": "Port of the Redis server (go-shared reads it).",
                    "required": True,
                },
                {
                    "name": "REDIS_URL",
                    "default": "redis://redis:6379/0",
                    "type": "url",
                    "description": "Address and database number of the Redis server "
                    "(its host and port as REDIS_HOST and REDIS_PORT).",
                    "required": True,
                },
                {
                    "name": "REDIS_PASSWORD",
                    "default": "",
                    "type": "secret",
                    "description": "Redis AUTH password. Empty: the local stack runs "
                    "Redis without AUTH, as the architecture document "
                    "does, so it is not generated; set it with an "
                    "override to point at a Redis that needs one.",
                    "required": False,
                    "generate": False,
                },
                {
                    "name": "REDIS_MAX_RETRIES",
                    "default": "3",
                    "type": "int",
                    "description": "Retries of a failed Redis command.",
                    "required": False,
                },
                {
                    "name": "REDIS_POOL_SIZE",
                    "default": "10",
                    "type": "int",
                    "description": "Redis connections per service.",
                    "required": False,
                },
            ],
        },
        {
            "name": "RabbitMQ",
            "description": "The message broker between the services (events, notifications).",
            "variables": [
                {
                    "name": "RABBITMQ_USERNAME",
                    "default": "guest",
                    "type": "string",
                    "description": "Broker user.",
                    "required": True,
                },
                {
                    "name": "RABBITMQ_PASSWORD",
                    "default": "",
                    "type": "secret",
                    "description": "Broker password, generated on first setup.",
                    "required": True,
                    "generate": {"bytes": 24, "encoding": "urlsafe"},
                },
                {
                    "name": "RABBITMQ_URL",
                    "default": "amqp://${RABBITMQ_USERNAME}:${RABBITMQ_PASSWORD}@rabbitmq:5672/",
                    "type": "url",
                    "description": "AMQP URL of the broker. Refers to the user and "
                    "password keys, so the password is written once, "
                    "in RABBITMQ_PASSWORD.",
                    "required": True,
                },
                {
                    "name": "RABBITMQ_VHOST",
                    "default": "/",
                    "type": "string",
                    "description": "Virtual host of the platform's queues.",
                    "required": True,
                },
                {
                    "name": "RABBITMQ_PREFETCH",
                    "default": "10",
                    "type": "int",
                    "description": "Unacknowledged messages a consumer takes at once.",
                    "required": False,
                },
            ],
        },
        {
            "name": "SMTP",
            "description": "Outgoing mail of the notification service.",
            "variables": [
                {
                    "name": "SMTP_HOST",
                    "default": "smtp.example.com",
                    "type": "string",
                    "description": "Mail server host.",
                    "required": True,
                },
                {
                    "name": "SMTP_PORT",
                    "default": "587",
                    "type": "port",
                    "description": "Mail server port (587 for STARTTLS).",
                    "required": True,
                },
                {
                    "name": "SMTP_USERNAME",
                    "default": "notifications@example.com",
                    "type": "email",
                    "description": "Mail server login.",
                    "required": False,
                },
                {
                    "name": "SMTP_PASSWORD",
                    "default": "",
                    "type": "secret",
                    "description": "Mail server password; generated so no known "
                    "default ships. Replace it with your provider's "
                    "through an override.",
                    "required": False,
                    "generate": {"bytes": 24, "encoding": "urlsafe"},
                },
                {
                    "name": "SMTP_FROM",
                    "default": "noreply@example.com",
                    "type": "email",
                    "description": "Sender address of the platform's mail.",
                    "required": True,
                },
                {
                    "name": "SMTP_TLS",
                    "default": "true",
                    "type": "bool",
                    "description": "Use TLS (STARTTLS) with the mail server.",
                    "required": True,
                },
            ],
        },
        {
            "name": "Observability",
            "description": "Metrics, dashboards and tracing.",
            "variables": [
                {
                    "name": "PROMETHEUS_PORT",
                    "default": "9090",
                    "type": "port",
                    "description": "Prometheus web port.",
                    "required": True,
                },
                {
                    "name": "PROMETHEUS_SCRAPE_INTERVAL",
                    "default": "15s",
                    "type": "duration",
                    "description": "How often Prometheus scrapes the services.",
                    "required": True,
                },
                {
                    "name": "GRAFANA_PORT",
                    "default": "3000",
                    "type": "port",
                    "description": "Grafana web port.",
                    "required": True,
                },
                {
                    "name": "GRAFANA_USER",
                    "default": "admin",
                    "type": "string",
                    "description": "Grafana administrator login.",
                    "required": True,
                },
                {
                    "name": "GRAFANA_PASSWORD",
                    "default": "",
                    "type": "secret",
                    "description": "Grafana administrator password, generated on first setup.",
                    "required": True,
                    "generate": {"bytes": 24, "encoding": "urlsafe"},
                },
                {
                    "name": "JAEGER_AGENT_HOST",
                    "default": "jaeger",
                    "type": "string",
                    "description": "Host of the Jaeger agent the services send spans to.",
                    "required": True,
                },
                {
                    "name": "JAEGER_AGENT_PORT",
                    "default": "6831",
                    "type": "port",
                    "description": "UDP port of the Jaeger agent.",
                    "required": True,
                },
                {
                    "name": "JAEGER_SAMPLER_TYPE",
                    "default": "const",
                    "type": "string",
                    "description": "Jaeger sampler (const, probabilistic, ratelimiting, remote).",
                    "required": True,
                },
                {
                    "name": "JAEGER_SAMPLER_PARAM",
                    "default": "1",
                    "type": "string",
                    "description": "Parameter of the sampler (1 with const samples every trace).",
                    "required": True,
                },
            ],
        },
        {
            "name": "Rate Limiting",
            "description": "Per-client request limits of the gateway.",
            "variables": [
                {
                    "name": "RATE_LIMIT_REQUESTS",
                    "default": "100",
                    "type": "int",
                    "description": "Requests a client may make per window.",
                    "required": True,
                },
                {
                    "name": "RATE_LIMIT_WINDOW",
                    "default": "60s",
                    "type": "duration",
                    "description": "Length of the rate-limit window.",
                    "required": True,
                },
                {
                    "name": "RATE_LIMIT_BURST",
                    "default": "20",
                    "type": "int",
                    "description": "Requests allowed above the rate in a burst.",
                    "required": True,
                },
            ],
        },
        {
            "name": "Feature Flags",
            "description": "Features turned on or off for every tenant (per-tenant flags "
            "live in MongoDB).",
            "variables": [
                {
                    "name": "FEATURE_NEW_DASHBOARD",
                    "default": "true",
                    "type": "bool",
                    "description": "The new dashboard.",
                    "required": False,
                },
                {
                    "name": "FEATURE_ADVANCED_ANALYTICS",
                    "default": "false",
                    "type": "bool",
                    "description": "Advanced analytics.",
                    "required": False,
                },
                {
                    "name": "FEATURE_SSO",
                    "default": "false",
                    "type": "bool",
                    "description": "Single sign-on.",
                    "required": False,
                },
            ],
        },
        {
            "name": "Security",
            "description": "Cross-origin requests the gateway allows.",
            "variables": [
                {
                    "name": "CORS_ALLOWED_ORIGINS",
                    "default": "http://localhost:3000,https://app.example.com",
                    "type": "list",
                    "description": "Origins allowed to call the API, comma-separated.",
                    "required": True,
                },
                {
                    "name": "CORS_ALLOWED_METHODS",
                    "default": "GET,POST,PUT,DELETE,OPTIONS",
                    "type": "list",
                    "description": "HTTP methods allowed cross-origin, comma-separated.",
                    "required": True,
                },
                {
                    "name": "CORS_ALLOWED_HEADERS",
                    "default": "Content-Type,Authorization",
                    "type": "list",
                    "description": "Request headers allowed cross-origin, comma-separated.",
                    "required": True,
                },
                {
                    "name": "CORS_MAX_AGE",
                    "default": "3600",
                    "type": "int",
                    "description": "Seconds a browser may cache a preflight answer.",
                    "required": False,
                },
            ],
        },
        {
            "name": "Session Management",
            "description": "Browser sessions.",
            "variables": [
                {
                    "name": "SESSION_TIMEOUT",
                    "default": "1800s",
                    "type": "duration",
                    "description": "Idle time after which a session ends (30 minutes).",
                    "required": True,
                },
                {
                    "name": "SESSION_COOKIE_SECURE",
                    "default": "false",
                    "type": "bool",
                    "description": "Send the session cookie over HTTPS only (true in production).",
                    "required": True,
                },
                {
                    "name": "SESSION_COOKIE_SAME_SITE",
                    "default": "lax",
                    "type": "string",
                    "description": "SameSite attribute of the session cookie (strict, lax, none).",
                    "required": True,
                },
            ],
        },
    ],
}
