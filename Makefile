# MediaIngest — build, demo and test entry points. `make demo` and `make test` set everything up on a fresh
# Debian/Ubuntu machine with Swift installed.

SWIFT ?= swift
SYSTEM_PACKAGES := libmagic-dev libexif-dev libsqlite3-dev zlib1g-dev libimage-exiftool-perl file curl python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build demo test clean

all: build

# Installs the C libraries (and the tools the tests compare against) when any is missing.
deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

# Runs pipelines/demo.json over the bundled samples/ into demo-output/ and prints the report.
demo: deps
	$(SWIFT) build --product ingest
	rm -rf demo-output .ingest/demo.sqlite .ingest/demo.lock
	.build/debug/ingest run demo

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

clean:
	rm -rf .build demo-output .ingest
