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

.PHONY: help setup build install demo test sanity lint unit integration scale uml test-uml bench docs lab-up lab-down clean constraints changelog

help:
	@echo "make demo   - set up, build a 4-host lab, run site.yml with --check --diff, apply, re-run (changed=0)"
	@echo "make test   - set up and run every test (sanity, lint, unit, integration on this kernel and under UML)"
	@echo "make bench  - benchmarks side by side with iproute2"
	@echo "make docs   - the module reference in docs/reference, generated with antsibull-docs"
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

# -- tests (docs/testing.md) -------------------------------------------------------------------------------
# `make test` runs every suite, even after one fails, then prints one line per suite. It installs the
# collection once, into a private build/test-run.PID (removed afterwards), so a `make install` run
# meanwhile (by you, or a colleague on a shared machine) cannot swap the tree under the running tests;
# its sub-makes get that COLLECTIONS and SKIP_INSTALL=1.
TEST_INSTALL := $(if $(SKIP_INSTALL),,install)
TEST_SUITES := unit sanity lint integration scale test-uml
# Host-kernel integration tests run in parallel (each in its own namespaces); 1 turns that off.
INTEGRATION_JOBS ?= 2
PYTEST := $(CURDIR)/$(BIN)/python -m pytest -p no:cacheprovider -q -ra

test: setup
	@start=$$(date +%s); failed=""; summary=""; col=$(CURDIR)/build/test-run.$$$$; trap 'rm -rf "$$col"' EXIT; \
	$(MAKE) --no-print-directory COLLECTIONS=$$col install || exit 1; \
	for suite in $(TEST_SUITES); do \
	  t0=$$(date +%s); echo; echo "=== make $$suite"; \
	  if $(MAKE) --no-print-directory COLLECTIONS=$$col SKIP_INSTALL=1 $$suite; then r=passed; else r=FAILED; failed="$$failed $$suite"; fi; \
	  summary="$$summary$$(printf '  %-12s %-7s %4ss' $$suite $$r $$(( $$(date +%s) - t0 )))"$$'\n'; \
	done; \
	echo; echo "=== make test summary ($$(( $$(date +%s) - start ))s)"; printf '%s' "$$summary"; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed"; exit 1; fi; \
	echo "make test: all suites passed"

unit: $(TEST_INSTALL)
	cd $(INSTALLED) && $(PYTEST) tests/unit

# The host-kernel integration run gets its own mount namespace with a private, empty /run/netns: the
# network namespaces it makes are invisible to (and cannot collide with) anything else on the machine,
# and one it leaves behind (a killed run, a broken fixture) disappears with it. Such leftovers are also
# listed, their processes killed, and the run fails.
define NETNS_GUARD
unshare --mount --propagation private bash -c 'set -u; mkdir -p /run/netns && mount -t tmpfs -o mode=755 edgenet-test /run/netns || exit 1; \
rc=0; $(1) || rc=$$?; \
left=$$(ip netns list | cut -d" " -f1); \
if [ -n "$$left" ]; then \
  echo "$@: the tests left these network namespaces behind (removed now):" $$left; \
  for ns in $$left; do ip netns pids $$ns | xargs -r kill -9; ip netns del $$ns; done; \
  [ $$rc != 0 ] || rc=1; \
fi; \
exit $$rc'
endef

integration: $(TEST_INSTALL)
	@$(call NETNS_GUARD,(cd $(INSTALLED) && $(PYTEST) $(if $(filter-out 1,$(INTEGRATION_JOBS)),-n $(INTEGRATION_JOBS)) -m "not uml" tests/integration))

# The fleet scale run over SCALE_HOSTS (50) lab hosts (tests/integration/test_fleet_scale.py, which the
# integration suite runs over 5): site.yml --check --diff, apply (every host changes what check mode
# predicted; iproute2 shows the site on every host), re-run (changed=0 everywhere), lab down. Each step's
# wall time is printed. `make bench` times the check run against the ping floor.
SCALE_HOSTS ?= 50
scale: $(TEST_INSTALL)
	@$(call NETNS_GUARD,(cd $(INSTALLED) && EDGENET_SCALE_HOSTS=$(SCALE_HOSTS) $(PYTEST) -s tests/integration/test_fleet_scale.py))

# The uml-marked tests (the full kernel: dummy, vlan, bond, team, vrf, macsec, hfsc...) under user-mode Linux,
# split over UML_JOBS guests booted side by side (tools/uml-tests; a guest runs on one CPU). With no
# uml-marked test in the tree there is nothing to boot for; when there are some, pytest collecting none of
# them (exit 5) is a failure.
UML_JOBS ?= 2
test-uml: $(TEST_INSTALL)
	@tools/uml-tests --jobs $(UML_JOBS) --collection $(INSTALLED) -- $(PYTEST)

sanity: $(TEST_INSTALL)
	tools/sanity $(INSTALLED)

# ansible-lint on the roles, playbooks and molecule scenarios that exist, in a copy of the installed
# collection outside the source tree (ansible-lint writes a .ansible/ cache into the project it lints).
lint: $(TEST_INSTALL)
	@dirs=$$(cd $(INSTALLED) && for d in roles playbooks extensions/molecule extensions/eda; do [ -d $$d ] && echo $$d; done); \
	if [ -z "$$dirs" ]; then echo "lint: no roles or playbooks yet"; exit 0; fi; \
	work=$$(mktemp -d /var/tmp/edgenet-lint.XXXXXX); trap 'rm -rf "$$work"' EXIT; \
	mkdir -p $$work/ansible_collections/edgenet && cp -a $(INSTALLED) $$work/ansible_collections/edgenet/linux && \
	cd $$work/ansible_collections/edgenet/linux && echo "ansible-lint --profile production" $$dirs && \
	HOME=$$work ANSIBLE_COLLECTIONS_PATH=$$work $(CURDIR)/$(BIN)/ansible-lint --profile production -q --nocolor $$dirs

demo: install
	tools/demo

# Every bench/*.py, one after the other (tools/bench NAME... runs some); the table and bench/results.json.
bench: install
	tools/bench $(BENCH)

# The reference of every module, plugin and role (docs/reference/*.rst, antsibull-docs simplified RST)
# from the installed collection's DOCUMENTATION and argument_specs, plus docs/reference/README.md (the index).
# Generated into build/ first: a page that does not parse fails and leaves docs/reference as it was.
docs: install
	@out=build/docs.$$$$; rm -rf $$out && mkdir -p $$out && \
	$(BIN)/antsibull-docs collection-plugins --use-current --fail-on-error --no-add-antsibull-docs-version \
	  --output-format simplified-rst --dest-dir $$out edgenet.linux >$$out.log 2>&1 \
	  || { cat $$out.log; rm -rf $$out $$out.log; echo "make docs: antsibull-docs failed"; exit 1; }; \
	{ echo "# edgenet.linux reference"; echo; \
	  echo "Generated by \`make docs\` (antsibull-docs collection-plugins, simplified RST) from the collection's"; \
	  echo "DOCUMENTATION and role argument_specs. Do not edit: change the plugin or role, then run \`make docs\`."; \
	  for kind in module role callback filter; do ls $$out | grep -q "_$$kind.rst$$" || continue; \
	    echo; echo "## $${kind}s"; echo; \
	    for f in $$(cd $$out && ls *_$$kind.rst); do echo "- [edgenet.linux.$${f%_$$kind.rst}]($$f)"; done; done; \
	} > $$out/README.md && rm -rf docs/reference $$out.log && mv $$out docs/reference && \
	echo "docs/reference: $$(ls docs/reference/*.rst | wc -l) pages"

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
