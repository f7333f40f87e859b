#!/usr/bin/env bash
# bench/peers.sh — installs the servers bench/compare.sh measures Gatehouse
# against, into $PEERS (default bench/.peers, ignored by git). Nothing of
# theirs is committed: this script is the recipe.
#
#   bench/peers.sh            # all three; about 6 minutes the first time, seconds after
#
# 1. Ory Hydra v2.3.0, as a Go tool module of its own ($PEERS/hydra). It
#    compiles only when that module also replaces github.com/gobuffalo/pop/v6
#    with Ory's fork, as Hydra's own go.mod does (a dependency's replace is
#    not honoured), and with cgo and the sqlite tags.
# 2. node oidc-provider 9 from npm ($PEERS/oidc-provider) and the minimal
#    provider bench/peers/oidc-provider.mjs runs on it (one client_credentials
#    client, in-memory storage).
# 3. Ory Kratos v1.3.1, as a Go tool module of its own ($PEERS/kratos),
#    for bench/compare_kratos.sh: the same recipe as Hydra, with the replace
#    lines of Kratos's own go.mod at v1.3.1 (a dependency's replace is not
#    honoured), cgo and the sqlite tags.
set -euo pipefail

cd "$(dirname "$0")/.."
PEERS=${PEERS:-$PWD/bench/.peers}
mkdir -p "$PEERS"

if [[ ! -x $PEERS/bin/hydra ]]; then
	echo "== hydra v2.3.0 (go tool module in $PEERS/hydra)"
	mkdir -p "$PEERS/hydra" "$PEERS/bin"
	(
		cd "$PEERS/hydra"
		[[ -f go.mod ]] || go mod init gatehouse.bench/peers/hydra >/dev/null 2>&1
		go mod edit -replace github.com/gobuffalo/pop/v6=github.com/ory/pop/v6@v6.2.1-0.20241121111754-e5dfc0f3344b
		go get -tool github.com/ory/hydra/v2@v2.3.0
		CGO_ENABLED=1 go build -tags sqlite,sqlite_omit_load_extension -o "$PEERS/bin/hydra" github.com/ory/hydra/v2
	)
fi
"$PEERS/bin/hydra" version 2>/dev/null | head -n 3 || true

if [[ ! -x $PEERS/bin/kratos ]]; then
	echo "== kratos v1.3.1 (go tool module in $PEERS/kratos)"
	mkdir -p "$PEERS/kratos" "$PEERS/bin"
	(
		cd "$PEERS/kratos"
		[[ -f go.mod ]] || go mod init gatehouse.bench/peers/kratos >/dev/null 2>&1
		# Kratos's go.mod at v1.3.1 replaces these four; its fifth replace,
		# github.com/ory/client-go => ./internal/client-go, points into its
		# own tree and only its examples and tests import that module.
		go mod edit -replace github.com/go-swagger/go-swagger=github.com/aeneasr/go-swagger@v0.19.1-0.20241013070044-bccef3a12e26 \
			-replace github.com/gobuffalo/pop/v6=github.com/ory/pop/v6@v6.2.0 \
			-replace github.com/gorilla/sessions=github.com/ory/sessions@v1.2.2-0.20220110165800-b09c17334dc2 \
			-replace github.com/mattn/go-sqlite3=github.com/mattn/go-sqlite3@v1.14.22
		go get -tool github.com/ory/kratos@v1.3.1
		CGO_ENABLED=1 go build -tags sqlite,sqlite_omit_load_extension -o "$PEERS/bin/kratos" \
			-ldflags "-X github.com/ory/kratos/driver/config.Version=v1.3.1" github.com/ory/kratos
	)
fi
"$PEERS/bin/kratos" version 2>/dev/null | head -n 2 || true

if [[ ! -d $PEERS/oidc-provider/node_modules/oidc-provider ]]; then
	echo "== oidc-provider@9 (npm, in $PEERS/oidc-provider)"
	mkdir -p "$PEERS/oidc-provider"
	(
		cd "$PEERS/oidc-provider"
		[[ -f package.json ]] || echo '{"name":"gatehouse-bench-peer","private":true,"type":"module"}' >package.json
		npm install --no-audit --no-fund --silent oidc-provider@9
	)
fi
echo "   oidc-provider $(node -p "require('$PEERS/oidc-provider/node_modules/oidc-provider/package.json').version"), node $(node --version)"
