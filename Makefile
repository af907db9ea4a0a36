# The old go-devtools vocabulary, run by Ansible. `make help` lists what works today.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/vhvcorp-devtools
# One virtualenv per set of pins, shared by every checkout on this machine.
VENV ?= $(CACHE_DIR)/venv-$(shell sha256sum requirements.txt | cut -c1-12)
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export FERRETDB_TELEMETRY := disable
PYTEST := $(BIN)/python -m pytest

.PHONY: help venv setup images start start-dev stop stop-keep-data status check-health logs \
	logs-service restart-service rebuild build-all build-service docker-build-all docker-push shell clean \
	validate-env generate-jwt onboard create-service \
	open-grafana open-prometheus open-jaeger open-rabbitmq \
	deploy-local deploy-dev port-forward generate-test-data db-seed db-migrate db-reset db-backup \
	db-restore verify-backup db-schedule benchmark-db benchmark-fleet benchmark-k8s benchmark-setup \
	harness harness-node test test-unit test-integration test-platform-unit test-platform-integration \
	test-platform-e2e test-platform-load test-api \
	test-molecule test-e2e e2e-stack e2e-k8s e2e-fleet suite-stack suite-rest lint

help: ## List the targets, one line each.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_%-]+:.*## / {sub("%", "<name>", $$1); printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv: $(VENV)/.complete ## Make the virtualenv with Ansible and the test tools (once).
$(VENV)/.complete: requirements.txt scripts/bootstrap-venv.sh
	@scripts/bootstrap-venv.sh $(VENV)

setup: venv ## Set up this machine (ansible-playbook setup.yml); ARGS= passes options.
	ansible-playbook setup.yml $(ARGS)

# A fleet: INVENTORY= (default inventories/fleet), FORKS= hosts at once, SERIAL= hosts per
# batch, MAX_FAIL= percent of a batch that may fail, STACK=yes for the stack and demo data too.
onboard: venv ## Onboard every host of INVENTORY= (FORKS=, SERIAL=, MAX_FAIL=, STACK=yes); report in reports/.
	ansible-playbook -i $(or $(INVENTORY),inventories/fleet) onboarding.yml $(if $(FORKS),--forks $(FORKS)) \
	  $(if $(SERIAL),-e fleet_serial=$(SERIAL)) $(if $(MAX_FAIL),-e fleet_max_fail_percentage=$(MAX_FAIL)) \
	  $(if $(filter yes,$(STACK)),-e fleet_stack=true) $(ARGS)

images: venv ## Build the local container images from Debian packages (no registry).
	ansible-playbook playbooks/local_images.yml $(ARGS)

# The stack's own `docker compose` (its project and files), written by every start.
WORKSPACE ?= $(HOME)/workspace/go-platform
COMPOSE ?= $(WORKSPACE)/deploy/compose/compose
NEED_SERVICE = @test -n "$(SERVICE)" || { echo 'Say which service: SERVICE=auth-service' >&2; exit 2; }

start: venv ## Start the stack and wait until every container is healthy.
	ansible-playbook start.yml $(ARGS)

start-dev: venv ## Start it with sources mounted and hot reload (air).
	ansible-playbook start-dev.yml $(ARGS)

stop: venv ## Stop the stack, keeping its data (VOLUMES=yes removes the data too).
	ansible-playbook stop.yml $(if $(filter yes,$(VOLUMES)),-e volumes=true) $(ARGS)

stop-keep-data: venv ## Stop the stack and keep its volumes, whatever VOLUMES says (go-devtools' name).
	ansible-playbook stop.yml -e volumes=false $(ARGS)

status: venv ## One table: service, state, health, ports.
	ansible-playbook status.yml $(ARGS)

check-health: venv ## Probe every service's health endpoints and every component once.
	ansible-playbook check-health.yml $(ARGS)

logs: venv ## Logs of the stack (SERVICE= one service, TAIL=100); follows on a terminal.
	@if [ -t 1 ] && [ -x "$(COMPOSE)" ]; then $(COMPOSE) logs -f --tail $(or $(TAIL),100) $(SERVICE); \
	else ansible-playbook logs.yml -e tail=$(or $(TAIL),100) $(if $(SERVICE),-e service=$(SERVICE)) $(ARGS); fi

logs-service: ## Logs of one service: make logs-service SERVICE=auth-service.
	$(NEED_SERVICE)
	@$(MAKE) --no-print-directory logs SERVICE=$(SERVICE)

# One logs-<name> per container of the stack: every service of the catalog
# (group_vars/all/services.yml, and yours in config.yml) and every component; the playbook
# names the stack's containers when <name> is none of them.
logs-%: ## Logs of one container by its catalog name: logs-auth-service, logs-mongodb, ...
	@$(MAKE) --no-print-directory logs SERVICE=$*

# The URL comes from the catalog's published port (and devtools_stack_port_offset).
open-grafana: ## Print Grafana's URL, opened where a desktop is (registry images only).
open-prometheus: ## Print Prometheus's URL, opened where a desktop is.
open-jaeger: ## Print Jaeger's URL, opened where a desktop is (local image: a placeholder page).
open-rabbitmq: ## Print RabbitMQ's management URL, opened where a desktop is.
open-grafana open-prometheus open-jaeger open-rabbitmq: open-%: venv
	@ansible-playbook open.yml -e component=$* $(ARGS)

restart-service: venv ## Restart one service and wait until it is healthy: SERVICE=.
	$(NEED_SERVICE)
	ansible-playbook restart-service.yml -e service=$(SERVICE) $(ARGS)

rebuild: venv ## Rebuild one service's image from its clone and recreate it: SERVICE=.
	$(NEED_SERVICE)
	ansible-playbook rebuild.yml -e service=$(SERVICE) $(ARGS)

build-all: venv ## Compile every service from its clone into the workspace's deploy/build/<service>/.
	ansible-playbook build.yml $(ARGS)

build-service: venv ## Compile one service from its clone: SERVICE=.
	$(NEED_SERVICE)
	ansible-playbook build.yml -e service=$(SERVICE) $(ARGS)

docker-build-all: venv ## Build every service's image (its binary FROM the local Debian image; SERVICE= one).
	ansible-playbook build.yml -e images=true $(if $(SERVICE),-e service=$(SERVICE)) $(ARGS)

docker-push: venv ## Push the service images to REGISTRY=HOST:PORT (TAG=, SERVICE= one).
	@test -n "$(REGISTRY)" || { echo 'Say where to push: make docker-push REGISTRY=127.0.0.1:5000' >&2; exit 2; }
	ansible-playbook push.yml -e registry=$(REGISTRY) $(if $(TAG),-e tag=$(TAG)) $(if $(SERVICE),-e service=$(SERVICE)) $(ARGS)

shell: ## A shell in one service's container: SERVICE=.
	$(NEED_SERVICE)
	$(COMPOSE) exec $(SERVICE) sh

clean: venv ## Remove the stack's containers, network and volumes (keeps .env and your overlay).
	ansible-playbook clean.yml $(ARGS)

create-service: venv ## A new service's repository from the template and its entry in config.yml's catalog: NAME= (PORT=).
	@test -n "$(NAME)" || { echo 'Say the new service'"'"'s name: make create-service NAME=billing-service' >&2; exit 2; }
	ansible-playbook create-service.yml -e name=$(NAME) $(if $(PORT),-e http_port=$(PORT)) $(ARGS)

validate-env: venv ## Check the workspace .env against its schema; lists every problem.
	ansible-playbook validate-env.yml $(ARGS)

generate-jwt: venv ## Print a test token (USER_ID=, TENANT_ID=, ROLES=admin,user) signed with .env's secret.
	@ansible-playbook generate-jwt.yml $(if $(USER_ID),-e user_id=$(USER_ID)) \
	  $(if $(TENANT_ID),-e tenant_id=$(TENANT_ID)) $(if $(ROLES),-e roles=$(ROLES)) $(ARGS) | tail -n 1

# MONGODB_URI= works on any MongoDB (default: the stack's, on 127.0.0.1:27017).
DB_ARGS = $(if $(MONGODB_URI),-e mongodb_uri=$(MONGODB_URI)) $(ARGS)
# NS_INCLUDE= / NS_EXCLUDE= (comma-separated <db>.<collection> patterns) narrow backup and restore.
NS_ARGS = $(if $(NS_INCLUDE),-e ns_include=$(NS_INCLUDE)) $(if $(NS_EXCLUDE),-e ns_exclude=$(NS_EXCLUDE))

deploy-local: venv ## Deploy the catalog to a Kubernetes cluster (KUBECONFIG) and wait for it.
	ansible-playbook deploy-local.yml $(ARGS)

deploy-dev: venv ## Deploy the dev overlay (or -e k8s_source=DIR: a kustomize dir or Helm chart).
	ansible-playbook deploy-dev.yml $(ARGS)

port-forward: venv ## Forward the deployed stack's ports to 127.0.0.1 (ARGS="-e state=stopped" ends).
	ansible-playbook port-forward.yml $(ARGS)

db-seed: venv ## Load the platform's fixtures and indexes (a rerun changes nothing).
	ansible-playbook db-seed.yml $(DB_ARGS)

generate-test-data: venv ## COUNT= (20) test documents in each platform collection, beside the demo data (a rerun changes nothing).
	ansible-playbook generate-test-data.yml $(if $(COUNT),-e count=$(COUNT)) $(DB_ARGS)

db-migrate: venv ## Apply the MongoDB migrations (DIRECTION=down reverts the newest; TARGET=N).
	ansible-playbook db-migrate.yml $(DB_ARGS) $(if $(DIRECTION),-e direction=$(DIRECTION)) \
	  $(if $(TARGET),-e target_version=$(TARGET))

db-reset: venv ## Drop the platform's collections and reseed; needs CONFIRM=yes.
	ansible-playbook db-reset.yml $(DB_ARGS) $(if $(filter yes,$(CONFIRM)),-e confirm=true)

db-backup: venv ## Back up MongoDB to backups/daily/ and keep 7 daily, 4 weekly, 12 monthly.
	ansible-playbook db-backup.yml $(DB_ARGS) $(NS_ARGS) $(if $(BACKUP_DIR),-e backup_dir=$(BACKUP_DIR))

db-restore: venv ## Restore FILE= (verified first; MODE=merge keeps what is there).
	@test -n "$(FILE)" || { echo 'Say what to restore: make db-restore FILE=backups/daily/mongodb-YYYY-MM-DD.tar.gz' >&2; exit 2; }
	ansible-playbook db-restore.yml $(DB_ARGS) $(NS_ARGS) -e file=$(FILE) $(if $(MODE),-e restore_mode=$(MODE))

verify-backup: venv ## Read a backup end to end, writing nothing (FILE=; default the newest).
	ansible-playbook verify-backup.yml $(if $(FILE),-e file=$(FILE)) $(if $(BACKUP_DIR),-e backup_dir=$(BACKUP_DIR)) $(ARGS)

db-schedule: venv ## Back up daily at 02:00 and verify at 03:00 (cron, systemd or launchd); STATE=absent removes.
	ansible-playbook db-schedule.yml $(DB_ARGS) $(if $(STATE),-e state=$(STATE)) $(if $(BACKUP_DIR),-e backup_dir=$(BACKUP_DIR))

benchmark-db: harness ## Backup/restore throughput and memory against the server's limit.
	$(BIN)/python benchmarks/mongodb_backup_restore.py $(ARGS)

benchmark-k8s: harness ## Time deploy-local.yml on the harness's cluster: whole catalog, then a rerun.
	$(BIN)/python benchmarks/k8s_deploy.py $(ARGS)

# STANDIN=yes: the end-to-end test's vars (stand-in services, local images); the stack uses
# fixed ports, so on a shared machine: flock /tmp/devtools-stack.lock make benchmark-setup.
benchmark-setup: venv ## Time a rerun of setup.yml that has nothing to do (median of 3; must be changed=0).
	$(BIN)/python benchmarks/setup_rerun.py --floor $(if $(filter yes,$(STANDIN)),--standin) $(ARGS)

# 20 simulated hosts (containers of the local Debian images with sshd); ARGS=--ladder
# measures the settings one at a time, ARGS='--configs ours free' chosen ones.
benchmark-fleet: harness ## Wall and CPU seconds of a trivial play and onboarding's rerun on 1, 10, 20 hosts.
	$(BIN)/python benchmarks/fleet.py $(ARGS)

# The platform's tests (go-devtools' run-*-tests.sh), in the services' clones; `make test`
# and test-unit/-integration/-e2e are this collection's own suite.
test-platform-unit: venv ## The platform's unit tests: `go test ./...` in each clone, one table (SERVICE= one).
	ansible-playbook test-platform.yml -e suite=unit $(if $(SERVICE),-e service=$(SERVICE)) $(ARGS)

test-platform-integration: venv ## The platform's integration tests (-tags integration) against the stack's test overlay.
	ansible-playbook test-platform.yml -e suite=integration $(if $(SERVICE),-e service=$(SERVICE)) $(ARGS)

test-platform-e2e: venv ## The platform's end-to-end tests (-tags e2e) against the stack's test overlay.
	ansible-playbook test-platform.yml -e suite=e2e $(if $(SERVICE),-e service=$(SERVICE)) $(ARGS)

test-platform-load: venv ## Load the gateway on 127.0.0.1: REQUESTS=1000, DURATION=30 s, CONCURRENCY=4 (URL= another); requests/s, p50/p90/p99.
	ansible-playbook load-test.yml $(if $(REQUESTS),-e requests=$(REQUESTS)) $(if $(DURATION),-e duration=$(DURATION)) \
	  $(if $(CONCURRENCY),-e concurrency=$(CONCURRENCY)) $(if $(URL),-e url=$(URL)) $(ARGS)

# API_BASE= another base URL on 127.0.0.1 (one off this machine: ARGS="-e test_api_allow_remote=true").
test-api: venv ## The API's smoke test on the gateway: health, /api/v1, register, login, users/me; one table.
	ansible-playbook test-api.yml $(if $(API_BASE),-e api_base=$(API_BASE)) $(ARGS)

harness: venv ## Bring up Docker, the local images and FerretDB for the tests (reuses).
	$(BIN)/python tests/harness/up.py

harness-node: harness ## The harness plus a real node (kubelet over containerd) for the real_node tests.
	$(BIN)/python tests/harness/node.py

# After lint and the unit tests, two lines of work at once, each printed whole when it ends:
# the compose stack's (the integration tests, then the stack's end-to-end tests; both use its
# fixed ports on 127.0.0.1) and the rest (molecule, whose containers publish no port, then
# the cluster's and the fleet's end-to-end tests). One after the other they took 62 min of CI.
test: lint test-unit harness-node ## Run the whole test suite.
	@$(MAKE) --no-print-directory -j3 --output-sync=target suite-stack suite-rest

suite-stack:
	$(PYTEST) tests/integration
	@$(MAKE) --no-print-directory e2e-stack

# The third job slot lets the cluster's and the fleet's tests run beside each other.
suite-rest:
	molecule test --all
	@$(MAKE) --no-print-directory --output-sync=target e2e-k8s e2e-fleet

test-unit: venv ## Unit tests (pytest, no services).
	$(PYTEST) tests/unit

test-integration: harness ## Integration tests against the harness's real services.
	$(PYTEST) tests/integration

test-molecule: harness ## Molecule scenarios of the roles (docker driver, local images).
	molecule test --all

# The end-to-end tests in three groups at once, each group's output printed whole when it
# ends: the compose stack's tests share its fixed ports on 127.0.0.1 and run one after
# another; the Kubernetes tests (the harness's control plane) and the fleet (containers on
# ports Docker picks) touch nothing of the stack's. A new file joins the stack's group.
E2E_K8S := $(wildcard tests/e2e/test_k8s_*.py)
E2E_FLEET := $(wildcard tests/e2e/test_fleet*.py)
E2E_STACK := $(filter-out $(E2E_K8S) $(E2E_FLEET),$(wildcard tests/e2e/test_*.py))

test-e2e: harness-node ## End to end: setup.yml on this machine, twice; the cluster and the fleet beside it.
	@$(MAKE) --no-print-directory -j3 --output-sync=target e2e-stack e2e-k8s e2e-fleet

e2e-stack:
	$(PYTEST) $(E2E_STACK)

e2e-k8s:
	$(PYTEST) $(E2E_K8S)

e2e-fleet:
	$(PYTEST) $(E2E_FLEET)

lint: venv ## ansible-lint (production profile) and ruff.
	ruff check .
	ruff format --check .
	ansible-lint
