#!/usr/bin/env bash
# bench/peers.sh — installs the servers bench/compare.sh measures Gatehouse
# against, into $PEERS (default bench/.peers, ignored by git). Nothing of
# theirs is committed: this script is the recipe.
#
#   bench/peers.sh            # both; about 3 minutes the first time, seconds after
#
# 1. Ory Hydra v2.3.0, as a Go tool module of its own ($PEERS/hydra). It
#    compiles only when that module also replaces github.com/gobuffalo/pop/v6
#    with Ory's fork, as Hydra's own go.mod does (a dependency's replace is
#    not honoured), and with cgo and the sqlite tags.
# 2. node oidc-provider 9 from npm ($PEERS/oidc-provider) and the minimal
#    provider bench/peers/oidc-provider.mjs runs on it (one client_credentials
#    client, in-memory storage).
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
