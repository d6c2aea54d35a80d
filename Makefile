# Voice Screening Console — `make run` starts everything, `make test` runs the whole suite.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
JARS := .tools/mongo-java-server
# The stamp (sha256 of the source) tells launcher.py the classes match this checkout's source.
LAUNCHER := .tools/launcher/EmbeddedMongo.java.sha256

.PHONY: run test venv tools chromium lint audit bench clean

run: venv tools
	$(BIN)/python -m tools.stack

test: venv tools chromium
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

venv: $(VENV)/.installed

# requirements.txt is what production runs; requirements-dev.txt adds tests, linters, honcho.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The embedded MongoDB (mongo-java-server) jars, fetched once with Maven, and its launcher.
tools: $(LAUNCHER)

$(JARS)/.fetched: tools/embedded_db/pom.xml
	@command -v mvn >/dev/null || { echo "Maven (mvn) is needed to fetch the embedded database"; exit 1; }
	mvn -q -f tools/embedded_db/pom.xml dependency:copy-dependencies -DoutputDirectory=$(CURDIR)/$(JARS)
	touch $@

$(LAUNCHER): tools/embedded_db/EmbeddedMongo.java $(JARS)/.fetched
	@command -v javac >/dev/null || { echo "Java 17 (javac) is needed for the embedded database"; exit 1; }
	mkdir -p .tools/launcher
	rm -f .tools/launcher/*.class $@
	javac -d .tools/launcher -cp '$(JARS)/*' tools/embedded_db/EmbeddedMongo.java
	sha256sum tools/embedded_db/EmbeddedMongo.java > $@

# Debian's Chromium for the browser tests (Playwright's own browser download is not used).
chromium:
	@if ! command -v chromium >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium espeak-ng >/dev/null; \
		else echo "chromium is missing: install Debian's chromium package (browser tests will be skipped)"; fi; \
	fi

# Static checks, not part of `make test`: ruff, the architecture contracts, bandit (each
# accepted finding is marked `# nosec BXXX - reason` where it is) and the dependency audit.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/bandit -q -c pyproject.toml -r core dashboard pages sidecar worker tools sandbox
	$(MAKE) --no-print-directory audit

# pip-audit of the pinned requirements, strictly (a package it cannot check is a failure),
# only where an advisory service really answers; otherwise it says it was skipped.
audit: venv
	$(BIN)/python -m tools.audit

bench: venv tools
	@echo "Benchmarks print numbers and take minutes; see bench/README.md for each command."

clean:
	rm -rf $(VENV) .tools tests/artifacts
