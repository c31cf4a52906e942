# Two entry points on a fresh machine: `make run` (install + the main job) and `make test`.
# torch is installed first and pinned to the CPU wheel (2.13.0) so pip never pulls a CUDA build.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.kdedge-installed

.PHONY: install run example test bench-distill check arm-check arm-constraints arm-image clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## the main job: every stage on the built-in default data, into a new runs/<id>/
run: $(STAMP)
	$(BIN)/kdedge run

## regenerate the example report committed in reports/ (ARM=1 adds the emulated aarch64 column)
example: $(STAMP)
	$(BIN)/kdedge run --out runs/example --force
	if [ -n "$(ARM)" ]; then bash scripts/arm_check.sh runs/example && $(BIN)/kdedge report runs/example; fi
	rm -rf reports/plots && mkdir -p reports
	cp -r runs/example/report.md runs/example/report.html runs/example/plots reports/

## one torch thread: models this small only spin a second one on a shared 2-core machine
test: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q

## the "what must hold" figures of each stage, measured (not timed tests)
check: $(STAMP)
	$(BIN)/python benchmarks/check_distill.py
	$(BIN)/python benchmarks/check_export.py
	$(BIN)/python benchmarks/check_bench.py
	$(BIN)/python benchmarks/check_report.py
	$(BIN)/python benchmarks/check_c_student.py

## aarch64 under qemu user emulation: same outputs as x86? (root; arm64 root cached outside the
## repo; RUN=runs/<id> optional, default the newest exported run)
arm-check: $(STAMP)
	bash scripts/arm_check.sh $(RUN)

## pin Dockerfile.arm's runtime dependencies to this venv's versions (constraints-arm.txt)
arm-constraints: $(STAMP)
	$(BIN)/python scripts/arm_constraints.py

## the arm64 bench image (docs/bench.md); needs docker buildx (+ qemu binfmt on an x86 host)
arm-image:
	$(BIN)/python scripts/arm_constraints.py --check
	docker buildx build --platform linux/arm64 -f Dockerfile.arm -t kdedge-bench:arm64 --load .

clean:
	rm -rf $(VENV) build dist *.egg-info
