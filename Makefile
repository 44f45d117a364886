# Concept Studio. `make run` and `make test` do all set-up on a fresh Debian
# machine with Go, gcc and npm (see README.md).
export GOFLAGS := -tags=migrated_fynedo -buildvcs=false
BIN   := bin/conceptstudio
FYNE  := $(shell go env GOPATH)/bin/fyne
FYNE_TOOLS := fyne.io/tools/cmd/fyne@v1.7.4
# Seconds each fuzz target runs in `make test` (longer in `make fuzz`).
FUZZTIME ?= 3s

.PHONY: run build build-cudagpu cudagpu-check gpu-pack test vet fuzz deps deps-test package icons bench clean example-concepts

run: deps build
	./$(BIN)

build:
	go build -o $(BIN) .

# The GPU build: large matrix products on an NVIDIA GPU through the CUDA
# driver (gorgonia.org/cu). Builds with cuda.h and libcuda from
# build/cuda-sdk.sh; the binary needs NVIDIA's driver installed to start,
# and computes on the CPU ("no GPU: …") where the driver finds no device.
# The tag is not `cuda`: that one also switches on Gorgonia's own CUDA
# machine, which needs cuDNN 7/8 (not packaged by Debian).
build-cudagpu:
	build/cuda-sdk.sh $(CUDA_SDK)
	$(CUDA_ENV) go build -tags migrated_fynedo,cudagpu -o $(BIN)-cudagpu .

# The cudagpu build on a machine without a GPU (part of `make test`, so the
# GPU path cannot rot between sessions that have one): build/cuda-sdk.sh
# puts cuda.h and libcuda from Debian's non-free archive under .cache/cuda
# (4 MB downloaded, not the 774 MB toolkit); then vet, link the program,
# run the kernels' tests (those needing a device skip, the CPU fallback is
# tested) and start the engine's test binary.
CUDA_SDK := $(CURDIR)/.cache/cuda
CUDA_ENV := CGO_CFLAGS=-I$(CUDA_SDK)/include CGO_LDFLAGS=-L$(CUDA_SDK)/lib LD_LIBRARY_PATH=$(CUDA_SDK)/lib
cudagpu-check:
	build/cuda-sdk.sh $(CUDA_SDK)
	$(CUDA_ENV) go vet -tags migrated_fynedo,cudagpu ./engine/...
	$(CUDA_ENV) go build -tags migrated_fynedo,cudagpu -o /dev/null .
	$(CUDA_ENV) go test -tags migrated_fynedo,cudagpu -count=1 ./engine/kernels/
	$(CUDA_ENV) go test -tags migrated_fynedo,cudagpu -count=1 -run '^$$' ./engine/

# Test binaries of the cudagpu build and the OpenBLAS they load, packed for
# a GPU machine: run build/gpu-check.sh there.
gpu-pack:
	rm -rf .devcarry && mkdir -p .devcarry/pack/lib
	build/cuda-sdk.sh $(CUDA_SDK)
	$(CUDA_ENV) go test -tags cudagpu -ldflags=-s -c -o .devcarry/pack/kernels-gpu.test ./engine/kernels
	$(CUDA_ENV) go test -tags cudagpu -ldflags=-s -c -o .devcarry/pack/engine-gpu.test ./engine
	for l in libopenblas.so.0 libgfortran.so.5 libquadmath.so.0; do cp -L /lib/x86_64-linux-gnu/$$l .devcarry/pack/lib/; done
	tar -czf .devcarry/pack.tar.gz -C .devcarry/pack . && rm -rf .devcarry/pack

deps:
	build/setup.sh run

deps-test:
	build/setup.sh test

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on: $$out"; exit 1; fi
	go vet ./...
	go vet -tags longtest ./engine  # the long checks compile even though CI does not run them

# Every test: unit, headless UI, the real window under Xvfb (TestWindowSmoke,
# and TestWindowEndToEnd: drop images, train, generate, export),
# and each fuzz target for $(FUZZTIME).
# The window and the use cases run under the race detector (their jobs
# hand results to the window's goroutine); the rest runs plain.
RACE_PKGS := ./ui/ ./app/
test: deps-test vet cudagpu-check
	CONCEPTSTUDIO_REQUIRE_XVFB=1 go test -count=1 -timeout 20m $$(go list ./... | grep -v -e '/ui$$' -e '/app$$')
	go test -race -count=1 -timeout 20m $(RACE_PKGS)
	build/fuzz.sh $(FUZZTIME)

fuzz:
	build/fuzz.sh 60s

bench: build
	./$(BIN) bench

# The example concepts a first start puts in the library (app/examples):
# Perfusion concepts of examples/NAME/1-4.png on the embedded base model.
# Run it after the embedded base changes (TestExampleConceptsFitTheEmbeddedBase
# fails until then).
example-concepts: build
	for c in teddy:"teddy bear" teapot:teapot; do \
	  name=$${c%%:*}; class=$${c#*:}; \
	  ./$(BIN) train -method perfusion -name $$name -class "$$class" -out app/examples/$$name.concept.safetensors examples/$$name/1.png examples/$$name/2.png examples/$$name/3.png examples/$$name/4.png || exit 1; \
	done

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
