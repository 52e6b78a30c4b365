# Two entry points for a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	ldconfig -p | grep -q libpango-1.0 || (apt-get update && apt-get install -y libpango-1.0-0 libpangoft2-1.0-0)
	$(BIN)/landwatch sample create $(DEMO_DIR)/region --size 400 --seed 0
	$(BIN)/landwatch sdg1531 --config $(DEMO_DIR)/region/run.yaml --out $(DEMO_DIR)/sdg1531 --overwrite
	$(BIN)/landwatch ldn --sdg-run $(DEMO_DIR)/sdg1531 --out $(DEMO_DIR)/ldn --overwrite
	LANDWATCH_DATA_DIR=$(DEMO_DIR)/data $(BIN)/landwatch practices seed
	LANDWATCH_DATA_DIR=$(DEMO_DIR)/data $(BIN)/landwatch match --ldn-run $(DEMO_DIR)/ldn --top-hotspots 2
	$(BIN)/landwatch brief --topic land_degradation --sdg-run $(DEMO_DIR)/sdg1531 --admin KE-S01 --out $(DEMO_DIR)/brief_ke_s01 --overwrite

test: $(STAMP)
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || (apt-get update && apt-get install -y chromium chromium-driver)
	ldconfig -p | grep -q libpango-1.0 || (apt-get update && apt-get install -y libpango-1.0-0 libpangoft2-1.0-0)
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update && apt-get install -y postgresql)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/mypy src
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy src

bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/sdg1531.py
	$(BIN)/python benchmarks/spi.py
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/scale.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache
