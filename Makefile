# The contact center platform. Quick start: `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVICES := routing ivr crm workorders analytics
PACKAGES := libs/events $(addprefix services/,$(SERVICES)) tools/simulator
INSTALLED := $(VENV)/.installed
# pytest-xdist workers for `make test`; the platform tests share one (tests/conftest.py).
TEST_WORKERS ?= 2

.PHONY: setup run test lint format bench migrate reset clean sandbox

setup: $(INSTALLED) ## create the virtualenv and install everything, pinned

$(INSTALLED): constraints.txt requirements-dev.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements-dev.txt \
		$(addprefix -e ,$(PACKAGES))
	touch $@

run: $(INSTALLED) ## broker + five services on this machine; Ctrl-C stops everything
	$(BIN)/python tools/devrun.py

# Debian's chromium for the browser tests (Playwright cannot download browsers here).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get install -y -q chromium || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium)

# Debian's kubectl renders the kustomize overlays in tests/deploy.
KUBECTL := /usr/bin/kubectl

$(KUBECTL):
	$(SUDO) apt-get install -y -q kubernetes-client || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q kubernetes-client)

test: $(INSTALLED) $(CHROMIUM) $(KUBECTL) lint ## the linters, then the whole test suite (CI=true: PostgreSQL is required)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

lint: $(INSTALLED) ## ruff: lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(INSTALLED) ## measure; numbers go to docs/benchmarks.md
	$(BIN)/python bench/event_backbone.py
	$(BIN)/python bench/routing_decisions.py
	$(BIN)/python bench/ivr_calls.py
	$(BIN)/python bench/crm_screen_pop.py
	$(BIN)/python bench/crm_kb_search.py
	$(BIN)/python bench/workorders_tickets.py
	$(BIN)/python bench/analytics_staffing.py
	taskset -c 0 $(BIN)/python bench/analytics_fold.py
	$(BIN)/python bench/platform_throughput.py

migrate: $(INSTALLED) ## bring every service's database to the latest revision
	for service in $(SERVICES); do $(BIN)/callcenter-$$service migrate || exit 1; done

sandbox: ## real Kafka, PostgreSQL, the services, Prometheus and Grafana in Docker
	docker compose -f deploy/compose/compose.yaml --profile observability up --build

reset: ## wipe local data (var/)
	rm -rf var

clean: reset
	rm -rf $(VENV)
