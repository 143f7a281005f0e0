# Two commands set everything up on a fresh machine: `make html`, then `make test`.
PYTHON      ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
INSTALLED   := $(VENV)/.installed
BUILDDIR    := _build
SPHINXOPTS  ?= -W --keep-going -n
SPHINXJOBS  ?= 1
PORT        ?= 8000
# Front-end packages, fetched from the npm registry at pinned versions and served from the site itself.
# They live outside the build folder, so a new BUILDDIR or `make clean` never needs the network again.
THEBE       := thebe@0.9.3
AXE         := axe-core@4.14.1
VENDOR      := .vendor
# The stamp names the pins, so changing one fetches again (and nothing else does).
VENDORED    := $(VENDOR)/.done-$(THEBE)-$(AXE)


.PHONY: html test test-unit serve clean new-mapping venv vendor live lab bench

venv: $(INSTALLED)

vendor: $(VENDORED)

# npm pack fetches just the published tarballs (no dependency tree) and checks their integrity.
$(VENDORED):
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	cd $(VENDOR) && npm pack --silent $(THEBE) $(AXE) >/dev/null
	for package in thebe axe-core; do \
	  mkdir -p $(VENDOR)/$$package && tar -xzf $(VENDOR)/$$package-*.tgz -C $(VENDOR)/$$package --strip-components=1; \
	done
	touch $@

# The virtual environment is (re)installed whenever requirements.txt changes.
$(INSTALLED): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	echo "$(CURDIR)/_ext" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/mapsite.pth"
	touch $@

html: $(INSTALLED) $(VENDORED)
	$(PY) -m sphinx $(SPHINXOPTS) -j $(SPHINXJOBS) -b html . $(BUILDDIR)/html
	@echo "Site built in $(BUILDDIR)/html (open $(BUILDDIR)/html/index.html, or run make serve)"

# Two workers (pytest-xdist), each taking whole test files; the session's site build is made once
# and shared by both (tests/conftest.py, built_once).
TESTJOBS ?= 2
test: $(INSTALLED) $(VENDORED)
	$(PY) -m pytest -n $(TESTJOBS) --dist loadfile tests

# The fast tests alone (no site build): the checker's comparison, entry validation, table lint, ...
test-unit: $(INSTALLED)
	$(PY) -m pytest -m unit tests

serve: html
	@echo "Serving on http://127.0.0.1:$(PORT)/ (Ctrl-C to stop)"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory $(BUILDDIR)/html

# Clean / no-op / one-notebook-changed builds against the floor of running the examples as scripts;
# then click-to-first-output of live code (median of 5) and the scanner on 10,000 lines.
bench: $(INSTALLED) $(VENDORED)
	$(PY) benchmarks/bench.py
	$(MAKE) --no-print-directory html
	$(PY) benchmarks/live_bench.py --runs 5 --html $(BUILDDIR)/html
	$(PY) benchmarks/scan_bench.py

# make scan PATHS="train.py src/": the PyTorch APIs a program uses, each with its MindSpore equivalents and
# page (the code is read, never run). SCANFLAGS="--json" or "--html report.html"; see python -m mapsite.scan --help.
.PHONY: scan
scan: $(INSTALLED)
	@test -n "$(PATHS)" || { echo 'usage: make scan PATHS="file.py folder/ ..." [SCANFLAGS="--json | --html FILE"]'; exit 2; }
	PYTHONPATH=_ext $(PY) -m mapsite.scan --mappings $(BUILDDIR)/html/mappings.json $(SCANFLAGS) $(PATHS)

# make draft API=torch.nn.ELU [CASE="randn(2, 3), alpha=0.5"]: a {mapping} block drafted from introspection
# (candidates by name, both signatures, differing defaults, a first case run), printed for the author to finish.
.PHONY: draft
draft: $(INSTALLED)
	@test -n "$(API)" || { echo 'usage: make draft API=torch.xxx [CASE="call arguments"] [INIT="constructor arguments"]'; exit 2; }
	@GLOG_v=3 PYTHONPATH=_ext $(PY) -m mapsite.draft $(API) $(if $(CASE),--case "$(CASE)") $(if $(INIT),--init "$(INIT)")

# The site with live code: one loopback server for the site and Jupyter's kernel API (tools/live.py); it prints
# an address whose #fragment carries the key. Each page view gets a kernel forked with torch and mindspore loaded.
live: html
	$(PY) tools/live.py --port $(PORT)

# JupyterLab on notebooks/ (loopback, random token); jupytext opens the MyST notebooks.
LABPORT     ?= 8888
lab: $(INSTALLED)
	$(PY) tools/live.py lab --port $(LABPORT)

# make new-mapping SLUG=Hardtanh: a detail page and its notebook from the templates.
new-mapping:
	@test -n "$(SLUG)" || { echo "usage: make new-mapping SLUG=<slug>"; exit 2; }
	@test ! -e source/mappings/$(SLUG).md || { echo "source/mappings/$(SLUG).md exists"; exit 2; }
	sed 's/__SLUG__/$(SLUG)/g' templates/mapping-page.md > source/mappings/$(SLUG).md
	sed 's/__SLUG__/$(SLUG)/g' templates/example-notebook.md > notebooks/$(SLUG).md
	@echo "Wrote source/mappings/$(SLUG).md and notebooks/$(SLUG).md; fill in the TODOs."

clean:
	rm -rf $(BUILDDIR)
