# MediaIngest — build, demo and test entry points. `make demo` and `make test` set everything up on a fresh
# Debian/Ubuntu machine with Swift installed.

SWIFT ?= swift
SYSTEM_PACKAGES := libmagic-dev libexif-dev libsqlite3-dev zlib1g-dev libimage-exiftool-perl libjpeg-turbo-progs webp file curl python3 ffmpeg libheif-examples postgresql rclone
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build demo test clean fuzz fuzz-changed bench lint format install docs

all: build

# Installs the C libraries (and the tools the tests compare against) when any is missing.
deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@# tuspy: an independent tus client the emulator tests upload through.
	@python3 -c "import tusclient" 2>/dev/null || { python3 -m pip --version >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip; }; \
		python3 -m pip install --quiet tuspy 2>/dev/null || python3 -m pip install --quiet --break-system-packages tuspy; }

build: deps
	$(SWIFT) build

# Runs pipelines/demo.json over the bundled samples/ into demo-output/ and prints the report; then the main job:
# pipelines/wix.json against the bundled Wix Media Manager emulator, which Scripts/demo-wix.sh starts and stops.
demo: deps
	$(SWIFT) build --product ingest
	$(SWIFT) build --product wix-media-emulator
	rm -rf demo-output .ingest/demo.sqlite .ingest/demo.lock
	.build/debug/ingest run demo
	@echo
	Scripts/demo-wix.sh .build/debug
	@echo
	@echo "Next: .build/debug/ingest doctor demo                              # checks that the pipeline can run here"
	@echo "      .build/debug/ingest report demo --html demo-output/report.html  # the run as a page to look at"
	@echo "      .build/debug/ingest init NAME                               # a pipeline of your own"

# Installs ingest, its man page and its bash, zsh and fish completions under PREFIX (DESTDIR for packaging).
# CONFIGURATION=debug reuses the test build (CI checks the install that way: Scripts/check-install.sh).
PREFIX ?= /usr/local
CONFIGURATION ?= release
install:
	$(SWIFT) build -c $(CONFIGURATION) --product ingest
	$(SWIFT) build -c $(CONFIGURATION) --product generate-manual
	@bin=$$($(SWIFT) build -c $(CONFIGURATION) --show-bin-path) && root="$(DESTDIR)$(PREFIX)" && \
	install -d "$$root/bin" "$$root/share/man/man1" "$$root/share/bash-completion/completions" \
		"$$root/share/zsh/site-functions" "$$root/share/fish/vendor_completions.d" && \
	install -m 755 "$$bin/ingest" "$$root/bin/ingest" && \
	"$$bin/generate-manual-tool" "$$bin/ingest" --output-directory "$$root/share/man/man1" --authors "MediaIngest" && \
	"$$bin/ingest" --generate-completion-script bash > "$$root/share/bash-completion/completions/ingest" && \
	"$$bin/ingest" --generate-completion-script zsh > "$$root/share/zsh/site-functions/_ingest" && \
	"$$bin/ingest" --generate-completion-script fish > "$$root/share/fish/vendor_completions.d/ingest.fish" && \
	echo "installed ingest, its man page and completions under $$root"

# Unit and integration tests (the Wix suites twice: default and strict emulator), then the extension paths: the
# new-stage and check-pipelines plugins and the external package in Examples/ (Scripts/check-extensions.sh), the
# install, and the DocC catalog.
# A throwaway PostgreSQL server (Scripts/test-postgres.sh) serves the fleet and shared-ledger suites; without the
# postgresql package they are skipped with a message (CI sets INGEST_REQUIRE_POSTGRES=1: there they must run).
test: deps lint
	$(SWIFT) build --build-tests
	@eval "$$(Scripts/test-postgres.sh start)"; \
	trap 'Scripts/test-postgres.sh stop "$${INGEST_TEST_POSTGRES_DIR:-/nonexistent}"' EXIT; \
	set -e; \
	$(SWIFT) test --skip-build --skip FleetTests; \
	echo "The fleet suite on its own (its worker processes would starve the timing of concurrent suites):"; \
	$(SWIFT) test --skip-build --filter FleetTests; \
	echo "The Wix suites once more against the emulator's strict readings of what Wix leaves undocumented:"; \
	WIX_EMULATOR_STRICT=1 $(SWIFT) test --skip-build --filter "WixUploadTests|CustomStagesWixTests|StateTests|PhotoLibraryTests|DedupeTargetTests|WixFolderTests|ExactlyOnceTests"
	SWIFT=$(SWIFT) Scripts/check-extensions.sh
	SWIFT=$(SWIFT) Scripts/check-install.sh
	@echo "The DocC catalog builds, every symbol it links resolving:"
	$(SWIFT) package generate-documentation --target MediaIngest --warnings-as-errors

# swift-format (bundled with the toolchain), configured in .swift-format: 4 spaces, 120 columns, as swift-nio; and
# docs/stages.md and docs/codes.md, which must be what `ingest stages --markdown` and `ingest codes --markdown` print
# (`make docs` regenerates them).
lint:
	$(SWIFT) format lint --strict --recursive --parallel Sources Tests Plugins Fuzz Package.swift
	$(SWIFT) build --product ingest
	@.build/debug/ingest stages --markdown | diff -u docs/stages.md - > /dev/null || { \
		.build/debug/ingest stages --markdown | diff -u docs/stages.md - | head -40; \
		echo "docs/stages.md differs from what the stages declare: run make docs and commit it"; exit 1; }
	@.build/debug/ingest codes --markdown | diff -u docs/codes.md - > /dev/null || { \
		.build/debug/ingest codes --markdown | diff -u docs/codes.md - | head -40; \
		echo "docs/codes.md differs from the codes the stages declare: run make docs and commit it"; exit 1; }

# Regenerates docs/stages.md from the stage registry, and builds the DocC catalog (Sources/MediaIngest/MediaIngest.docc).
docs:
	$(SWIFT) build --product ingest
	.build/debug/ingest stages --markdown > docs/stages.md
	.build/debug/ingest codes --markdown > docs/codes.md
	$(SWIFT) package generate-documentation --target MediaIngest --warnings-as-errors

format:
	$(SWIFT) format --in-place --recursive --parallel Sources Tests Plugins Fuzz Package.swift

clean:
	rm -rf .build demo-output .ingest Examples/ExternalStage/.build Examples/ExternalStage/output

# libFuzzer over the parsers and strippers of MediaFormats (JPEG, PNG, WebP, GIF, HEIF/AVIF, MP4/MOV boxes, the
# splice plans), seeded with the corpus images, small copies of its ISO files (Fuzz/make-seeds.py) and
# Fuzz/regressions. FUZZ_SECONDS bounds the run in time (CI: 60); otherwise FUZZ_RUNS inputs. New inputs that reach new
# code are kept in .fuzz/corpus and seed the next run (the corpus keeps growing); a crash leaves its input in
# .fuzz/artifacts — add it to Fuzz/regressions with the fix. A clean run records the MediaFormats tree it fuzzed in
# Fuzz/fuzzed-tree (commit it): `make fuzz-changed` (run by CI) fuzzes only when MediaFormats differs from it.
# Built in .build's release configuration (only MediaFormats and the fuzz target: no second dependency graph).
FUZZ_RUNS ?= 1000000
FUZZ_SECONDS ?=
fuzz:
	$(SWIFT) build -c release --product fuzz-media-formats -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
	mkdir -p .fuzz/corpus .fuzz/artifacts
	python3 Fuzz/make-seeds.py Tests/Fixtures/corpus .fuzz/seeds
	.build/release/fuzz-media-formats .fuzz/corpus .fuzz/seeds Tests/Fixtures/corpus/images Tests/Fixtures/corpus/adversarial Fuzz/regressions \
		$(if $(FUZZ_SECONDS),-max_total_time=$(FUZZ_SECONDS),-runs=$(FUZZ_RUNS)) -max_len=16384 -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix=.fuzz/artifacts/ -print_final_stats=1 > .fuzz/last-run.log 2>&1; status=$$?; \
		grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss|INFO: seed corpus|==[0-9]+==ERROR|SUMMARY)" .fuzz/last-run.log; \
		if [ $$status -ne 0 ]; then tail -60 .fuzz/last-run.log; exit $$status; fi
	@git rev-parse HEAD:Sources/MediaFormats > Fuzz/fuzzed-tree 2>/dev/null && echo "fuzzed MediaFormats tree $$(cat Fuzz/fuzzed-tree) (recorded in Fuzz/fuzzed-tree; uncommitted changes are not in it)"

# CI: fuzz for FUZZ_SECONDS (60) when Sources/MediaFormats is not the tree Fuzz/fuzzed-tree records.
fuzz-changed:
	@if [ "$$(git rev-parse HEAD:Sources/MediaFormats 2>/dev/null)" = "$$(cat Fuzz/fuzzed-tree 2>/dev/null)" ]; then \
		echo "MediaFormats unchanged since its last recorded fuzz run ($$(cat Fuzz/fuzzed-tree)): not fuzzing"; \
	else \
		$(MAKE) fuzz FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60); \
	fi

# Benchmarks against file(1), exiftool, ffmpeg and curl on the same files in the same invocation (Benchmarks/bench.sh):
# detect, strip, heic, mov (1 GiB), mp4s (200 phone videos), bigfile, e2e (2,000 JPEGs through the Wix pipeline),
# scale (1k/5k/20k files, ledger re-run), remote (2,000 JPEGs streamed from S3 vs rclone copy then process).
# Writes Benchmarks/results/latest.md. `make bench SCENARIOS="detect strip"` runs a subset.
SCENARIOS ?=
bench: deps
	@for p in hyperfine time; do dpkg -s $$p >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$p; }; done
	@# Pillow and piexif make the realistic inputs (Benchmarks/generate.py).
	@python3 -c "import PIL, piexif" 2>/dev/null || python3 -m pip install --quiet pillow piexif 2>/dev/null || python3 -m pip install --quiet --break-system-packages pillow piexif
	@# moto's S3 server is the remote scenario's bucket (and the S3 tests' peer).
	@python3 -c "import moto.server" 2>/dev/null || python3 -m pip install --quiet 'moto[server]' 2>/dev/null || python3 -m pip install --quiet --break-system-packages 'moto[server]'
	Benchmarks/bench.sh $(SCENARIOS)
