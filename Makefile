# The two commands in the README: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-dev lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	@echo ""
	@echo "Casework is starting on http://$(HOST):$(PORT)/  (report form: http://$(HOST):$(PORT)/report)"
	@echo "Sign in with any demo account, password casework-demo-2026:"
	@echo "  admin@demo.example.edu  intake@demo.example.edu  investigator@demo.example.edu"
	@echo "  conduct@demo.example.edu  police@demo.example.edu  auditor@demo.example.edu"
	@echo "(admin@ and auditor@ set up two-step sign-in with an authenticator app at their first sign-in)"
	@echo ""
	$(BIN)/gunicorn -c gunicorn.conf.py --bind $(HOST):$(PORT) wsgi:app

test: install-dev
	$(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check casework workflows tests bench
	$(BIN)/ruff format --check casework workflows tests bench

format: install-dev
	$(BIN)/ruff format casework workflows tests bench
	$(BIN)/ruff check --fix casework workflows tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
