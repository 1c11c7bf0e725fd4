# edgenet.linux: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
COLLECTIONS := $(CURDIR)/build/collections
INSTALLED := $(COLLECTIONS)/ansible_collections/edgenet/linux
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := build/edgenet-linux-$(VERSION).tar.gz

.PHONY: help setup build install demo test sanity lint unit integration uml test-uml bench lab-up lab-down clean constraints changelog

help:
	@echo "make demo   - set up, build a 4-host lab, run site.yml with --check --diff, apply, re-run (changed=0)"
	@echo "make test   - set up and run every test (sanity, lint, unit, integration on this kernel and under UML)"
	@echo "make bench  - benchmarks side by side with iproute2"
	@echo "make lab-down - remove the lab"

setup:
	@tools/setup

# Tests and the demo run against the built and installed tarball, as a user would.
build: setup
	@mkdir -p build/dist.$$$$ && $(BIN)/ansible-galaxy collection build --force --output-path build/dist.$$$$ . >/dev/null \
	  && mv -f build/dist.$$$$/edgenet-linux-$(VERSION).tar.gz $(TARBALL) && rmdir build/dist.$$$$
	@echo "built $(TARBALL)"

# Installed into a fresh directory and swapped in, so a test run in progress keeps a whole tree.
install: build
	@rm -rf build/staging.$$$$ && $(BIN)/ansible-galaxy collection install --force -p build/staging.$$$$ $(TARBALL) >/dev/null 2>&1 \
	  && mkdir -p $(dir $(INSTALLED)) && rm -rf $(INSTALLED).old.$$$$ \
	  && { [ ! -e $(INSTALLED) ] || mv $(INSTALLED) $(INSTALLED).old.$$$$; } \
	  && mv build/staging.$$$$/ansible_collections/edgenet/linux $(INSTALLED) \
	  && rm -rf build/staging.$$$$ $(INSTALLED).old.$$$$
	@echo "installed into $(INSTALLED)"

test: install sanity lint unit integration test-uml
	@echo "make test: all suites passed"

unit: install
	cd $(INSTALLED) && $(CURDIR)/$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

integration: install
	cd $(INSTALLED) && $(CURDIR)/$(BIN)/python -m pytest -q -p no:cacheprovider -m "not uml" tests/integration

test-uml: install
	tools/uml --collection $(INSTALLED) -- $(CURDIR)/$(BIN)/python -m pytest -q -p no:cacheprovider -m uml tests/integration

sanity: install
	tools/sanity $(INSTALLED)

lint: install
	cd $(INSTALLED) && $(CURDIR)/$(BIN)/ansible-lint --profile production -q roles playbooks

demo: install
	tools/demo

bench: install
	tools/bench

lab-up: install
	tools/lab up 4

lab-down:
	tools/lab down

constraints:
	$(BIN)/pip freeze --exclude-editable | (echo "# Every transitive dependency, pinned (regenerate with: make constraints)"; cat) > constraints.txt

changelog: setup
	$(BIN)/antsibull-changelog lint
	$(BIN)/antsibull-changelog release

clean:
	rm -rf build .pytest_cache
