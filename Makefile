# Concept Studio. `make run` and `make test` do all set-up on a fresh Debian
# machine with Go, gcc and npm (see README.md).
export GOFLAGS := -tags=migrated_fynedo -buildvcs=false
BIN   := bin/conceptstudio
FYNE  := $(shell go env GOPATH)/bin/fyne
FYNE_TOOLS := fyne.io/tools/cmd/fyne@v1.7.4
# Seconds each fuzz target runs in `make test` (longer in `make fuzz`).
FUZZTIME ?= 3s

.PHONY: run build test vet fuzz deps deps-test package icons bench clean

run: deps build
	./$(BIN)

build:
	go build -o $(BIN) .

deps:
	build/setup.sh run

deps-test:
	build/setup.sh test

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on: $$out"; exit 1; fi
	go vet ./...

# Every test: unit, headless UI, the real window under Xvfb (TestWindowSmoke,
# and TestWindowEndToEnd: drop images, train, generate, export),
# and each fuzz target for $(FUZZTIME).
test: deps-test vet
	CONCEPTSTUDIO_REQUIRE_XVFB=1 go test -count=1 -timeout 20m ./...
	build/fuzz.sh $(FUZZTIME)

fuzz:
	build/fuzz.sh 60s

bench: build
	./$(BIN) bench

$(FYNE):
	go install $(FYNE_TOOLS)

icons: $(FYNE)
	go run ./build/icongen
	cd icons && $(FYNE) bundle -o bundled.go --package icons --name AppIcon appicon.png

# A Linux package (tar.xz with a desktop entry and icon) in dist/.
package: deps $(FYNE)
	mkdir -p dist
	# fyne package bumps the build number in FyneApp.toml; keep ours.
	cp FyneApp.toml dist/.FyneApp.toml.keep
	$(FYNE) package --target linux --release --tags migrated_fynedo; s=$$?; \
	  mv -f dist/.FyneApp.toml.keep FyneApp.toml; exit $$s
	mv -f "Concept Studio.tar.xz" dist/conceptstudio-linux-amd64.tar.xz
	@echo "package: dist/conceptstudio-linux-amd64.tar.xz"

clean:
	rm -rf bin dist
