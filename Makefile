# Service Hall — the two commands a new user needs:
#   make demo   installs everything into .venv, builds and seeds the SQLite demo, serves it
#   make test   runs the test suite (SQLite; also PostgreSQL + Redis when configured, see .ci/run)
PYTHON ?= python3
VENV   ?= .venv
HOST   ?= 127.0.0.1
PORT   ?= 5000
BIN     = $(VENV)/bin

.PHONY: demo test install serve

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi hall seed-demo --history --base-url http://$(HOST):$(PORT)
	$(BIN)/flask --app wsgi hall serve --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/flask --app wsgi hall serve --host $(HOST) --port $(PORT)

# SQLite always; PostgreSQL (with Redis for the realtime tests) too when
# SERVICE_HALL_TEST_POSTGRES_URL is set. The two runs use separate databases and run side by side.
test: install
	@bash tests/run_suites.sh $(BIN)/python
