# Gatehouse: the two commands a newcomer needs are `make run` and `make test`.
GO ?= go

.PHONY: run test vet bench build bench-compare bench-kratos soak

run:
	$(GO) run ./cmd/gatehouse serve

build:
	$(GO) build -o bin/gatehouse ./cmd/gatehouse

# The whole suite, never from the test cache (test/e2e builds the binary
# itself, which the cache cannot see). Storage tests also run on PostgreSQL when
# GATEHOUSE_TEST_POSTGRES_DSN is set (CI sets it); without it they skip.
# go test starts the packages' test binaries in the order they are listed,
# -p (GOMAXPROCS) at a time, each package once: the ones that run for
# minutes go first, so that none of them is left running alone at the end
# while the other cores idle (in ./... order test/e2e came last).
SLOWEST_TESTS = ./internal/server/ ./test/e2e/ ./internal/store/sqlstore/ ./bench/ ./bench/risk/
# -parallel: four parallel tests of a package at once, not GOMAXPROCS (two
# on the CI machine). Those tests mostly wait: the storage suite's on its
# database, the end-to-end tests' on the processes they start and on the
# clock (TestDynamicRegistration and TestTokenExchange each wait out a
# 60-second token on both backends, side by side only with four).
TEST_PARALLEL = 4

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 45m -parallel $(TEST_PARALLEL) $(SLOWEST_TESTS) ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./internal/store/sqlstore/ ./internal/credential/

# Every load scenario, Gatehouse against Ory Hydra and node
# oidc-provider (installed by bench/peers.sh, outside git), and the scaling
# run with 1,000,000 users; about 9 minutes (docs/BENCHMARKS.md).
bench-compare:
	bash bench/all.sh

# Login and sign-up against Ory Kratos v1.3.1 (installed by bench/peers.sh,
# outside git); about 8 minutes, so not part of bench-compare.
bench-kratos:
	bash bench/compare_kratos.sh

# An hour of mixed load at 70% of measured capacity, goroutines, heap and RSS
# sampled each minute and plotted (bench/soak.sh; DB=postgres://... for
# PostgreSQL). A two-minute version runs in `make test` (bench TestSoakShort).
soak:
	bash bench/soak.sh
