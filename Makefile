# Two jobs a newcomer needs: `make demo` and `make test`. Each builds its own virtualenv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench bench-pdf bench-send clean

$(BIN)/campaign: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,pdf]'
	touch $@

demo: $(BIN)/campaign
	$(BIN)/campaign check
	$(BIN)/campaign export --date 2026-11-27T09:00:00-05:00 --out out

lint: $(BIN)/campaign
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy --strict src

test: lint
	$(BIN)/pytest

# Speed against mailmerge 2.3.0 and a plain Jinja2 loop, in a virtualenv of its own so mailmerge
# never becomes a dependency. make bench N="5000 20000" RUNS=3 BENCH_ARGS="--tmpdir /var/tmp"
BENCH_VENV ?= bench/.venv
$(BENCH_VENV)/bin/mailmerge: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e . mailmerge==2.3.0
	touch $@

bench: $(BENCH_VENV)/bin/mailmerge
	$(BENCH_VENV)/bin/python bench/bench.py $(if $(N),--sizes $(N)) $(if $(RUNS),--runs $(RUNS)) $(BENCH_ARGS)

# Sending 1,000 letters to a local server (instant, and 25 ms before every reply) against
# mailmerge --no-dry-run and a one-connection smtplib floor. SEND_ARGS="--letters 200".
bench-send: $(BENCH_VENV)/bin/mailmerge
	$(BENCH_VENV)/bin/python bench/send.py $(SEND_ARGS)

# PDF letters per second, one process and --jobs 2, and the 535 members of Congress.
bench-pdf: $(BIN)/campaign
	$(BIN)/python bench/pdf.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) out
