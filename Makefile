# Every target creates .venv first when it is missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test lint check bench example example-once clean

$(BIN)/roboconf: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/roboconf

# pytest exits 5 when it collected no test: that is a failure here. --durations: the slowest
# tests (the LAMP example on containers among them) and how long they took.
test: install
	@$(BIN)/pytest -q -n 2 --durations=10 $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "error: no tests ran" >&2; exit 1; fi; exit $$status

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

check: lint test

bench: install
	mkdir -p bench/results
	$(BIN)/python bench/parse.py --json bench/results/parse.json
	$(BIN)/python bench/router.py --json bench/results/router.json
	$(BIN)/python bench/converge.py --json bench/results/converge.json
	$(BIN)/python bench/api_latency.py --json bench/results/api_latency.json
	$(BIN)/python bench/reconfigure.py --json bench/results/reconfigure.json
	$(BIN)/python bench/many_agents.py --json bench/results/many_agents.json
	$(BIN)/python bench/detection.py --json bench/results/detection.json
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python bench/vs_ansible.py --json bench/results/vs_ansible.json

example: install
	$(BIN)/roboconf validate examples/webstack
	$(BIN)/roboconf run examples/webstack

example-once: install
	$(BIN)/roboconf run examples/webstack --once

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
