#!/usr/bin/env bash
# bench/compare.sh — Gatehouse against Ory Hydra v2.3.0 and node
# oidc-provider 9 on this machine, in one run, as ratios:
#
#   bench/compare.sh              # about 4 minutes after bench/peers.sh's first install
#
# 1. installs the peers (bench/peers.sh; nothing of theirs is committed) and
#    builds gatehouse and bench/load;
# 2. starts each server on a free 127.0.0.1 port and times its start-up
#    (spawn to the first 200 from its readiness URL):
#      - gatehouse on SQLite, default configuration, started once to create
#        the database and then again on it (a warm database); with PG=1 also
#        gatehouse on a fresh PostgreSQL database of the local server
#        (127.0.0.1:5432, created and dropped by this script);
#      - hydra `serve all --dev`, DSN=memory, every other setting its
#        default (opaque access tokens; client secrets hashed with PBKDF2,
#        25,000 iterations, by default);
#      - oidc-provider with bench/peers/oidc-provider.mjs: one client, ES256
#        JWT access tokens, in-memory storage (it writes nothing to disk);
#    each gets one client_credentials client with client_secret_basic;
# 3. reads each server's idle RSS, then runs client_credentials against
#    each in turn, ROUNDS times (A/B alternated), at the same concurrency;
#    the generator reads each server's CPU time and peak RSS from /proc;
# 4. prints the table and the ratios Gatehouse/peer (compare.md in $OUT).
#
# Environment: DURATION (15s), CONCURRENCY (16), ROUNDS (2), WARMUP (2s),
# PG (0), OUT (results directory), PEERS (bench/.peers).
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${DURATION:-15s}
CONCURRENCY=${CONCURRENCY:-16}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-2s}
PG=${PG:-0}
PEERS=${PEERS:-$PWD/bench/.peers}
OUT=${OUT:-$(mktemp -d -t gatehouse-compare.XXXXXX)}
mkdir -p "$OUT"
export PEERS

bash bench/peers.sh

work=$(mktemp -d -t gatehouse-compare-work.XXXXXX)
pids=()
pgdb=""
cleanup() {
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [[ -n $pgdb ]]; then
		psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $pgdb" >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
for v in $(env | grep -o '^GATEHOUSE_[A-Z0-9_]*' || true); do unset "$v"; done

echo "== compare, $(date -u +%Y-%m-%dT%H:%M:%SZ): commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(go version | cut -d' ' -f3)," \
	"$(nproc) CPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   client_credentials, concurrency $CONCURRENCY, $DURATION per run after $WARMUP warm-up, $ROUNDS rounds alternated"
go build -o "$work/gatehouse" ./cmd/gatehouse
go build -o "$work/load" ./bench/load

secret="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
declare -A token_url pid_of startup_ms idle_rss
servers=()

# start_gatehouse NAME DB: a warm start (the database already made).
start_gatehouse() {
	local name=$1 db=$2 dir="$work/data-$1" port
	mkdir -p "$dir"
	export GATEHOUSE_DATA_DIR="$dir" GATEHOUSE_DB="$db"
	[[ -n $db ]] || unset GATEHOUSE_DB
	port=$(freeport)
	# First start: migrations, tenant and keys; then stop it.
	GATEHOUSE_ADDR=127.0.0.1:$port "$work/gatehouse" serve >"$OUT/$name.first.log" 2>&1 &
	local p=$!
	ready "http://127.0.0.1:$port/readyz" $p || { cat "$OUT/$name.first.log"; exit 1; }
	kill -TERM $p
	wait $p || true
	local t0
	t0=$(now_ms)
	GATEHOUSE_ADDR=127.0.0.1:$port "$work/gatehouse" serve >"$OUT/$name.out" 2>"$OUT/$name.log" &
	p=$!
	pids+=("$p")
	ready "http://127.0.0.1:$port/readyz" $p || { cat "$OUT/$name.log"; exit 1; }
	startup_ms[$name]=$(($(now_ms) - t0))
	local cc
	cc=$("$work/gatehouse" client create --tenant default --name bench-cc --grant client_credentials --json 2>>"$OUT/cli.log" | tail -n1)
	echo "$name $(jq -r .client_id <<<"$cc") $(jq -r .client_secret <<<"$cc")" >>"$work/clients"
	token_url[$name]="http://127.0.0.1:$port/t/default/oauth/token"
	pid_of[$name]=$p
	servers+=("$name")
	unset GATEHOUSE_DATA_DIR GATEHOUSE_DB
}

start_hydra() {
	local pub adm t0 p
	pub=$(freeport)
	adm=$(freeport)
	t0=$(now_ms)
	DSN=memory SERVE_PUBLIC_HOST=127.0.0.1 SERVE_PUBLIC_PORT=$pub SERVE_ADMIN_HOST=127.0.0.1 SERVE_ADMIN_PORT=$adm \
		URLS_SELF_ISSUER="http://127.0.0.1:$pub" SECRETS_SYSTEM="$secret" \
		"$PEERS/bin/hydra" serve all --dev >"$OUT/hydra.log" 2>&1 &
	p=$!
	pids+=("$p")
	ready "http://127.0.0.1:$pub/health/ready" $p || { cat "$OUT/hydra.log"; exit 1; }
	startup_ms[hydra]=$(($(now_ms) - t0))
	curl -fsS -o "$OUT/hydra-client.json" -X POST "http://127.0.0.1:$adm/admin/clients" -H 'Content-Type: application/json' \
		--data-binary "{\"client_id\":\"bench\",\"client_secret\":\"$secret\",\"grant_types\":[\"client_credentials\"],\"token_endpoint_auth_method\":\"client_secret_basic\"}"
	echo "hydra bench $secret" >>"$work/clients"
	token_url[hydra]="http://127.0.0.1:$pub/oauth2/token"
	pid_of[hydra]=$p
	servers+=(hydra)
}

start_oidc_provider() {
	local port t0 p
	port=$(freeport)
	cp bench/peers/oidc-provider.mjs "$PEERS/oidc-provider/provider.mjs"
	t0=$(now_ms)
	(cd "$PEERS/oidc-provider" && PORT=$port CLIENT_SECRET=$secret NODE_ENV=production exec node provider.mjs) >"$OUT/oidc-provider.log" 2>&1 &
	p=$!
	pids+=("$p")
	ready "http://127.0.0.1:$port/.well-known/openid-configuration" $p || { cat "$OUT/oidc-provider.log"; exit 1; }
	startup_ms[oidc-provider]=$(($(now_ms) - t0))
	echo "oidc-provider bench $secret" >>"$work/clients"
	token_url[oidc-provider]="http://127.0.0.1:$port/token"
	pid_of[oidc-provider]=$p
	servers+=(oidc-provider)
}

echo "== start"
start_gatehouse gatehouse ""
if [[ $PG == 1 ]]; then
	pgdb="gh_bench_$$"
	psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $pgdb" >/dev/null
	start_gatehouse gatehouse-pg "postgres://postgres@127.0.0.1:5432/$pgdb?sslmode=disable"
fi
start_hydra
start_oidc_provider
sleep 1
for s in "${servers[@]}"; do
	idle_rss[$s]=$(rss "${pid_of[$s]}")
	echo "   $s: pid ${pid_of[$s]}, ready after ${startup_ms[$s]} ms, idle RSS ${idle_rss[$s]} MiB"
done

echo "== load"
for r in $(seq 1 "$ROUNDS"); do
	for s in "${servers[@]}"; do
		read -r _ id sec < <(grep "^$s " "$work/clients")
		echo "   round $r: $s"
		BENCH_CC_CLIENT_ID=$id BENCH_CC_CLIENT_SECRET=$sec "$work/load" -scenario client_credentials \
			-base-url "http://127.0.0.1:1" -token-url "${token_url[$s]}" -pid "${pid_of[$s]}" \
			-duration "$DURATION" -warmup "$WARMUP" -concurrency "$CONCURRENCY" -json 2>>"$OUT/load.txt" |
			jq -c --arg s "$s" --argjson r "$r" '. + {server: $s, round: $r}' >>"$OUT/compare.jsonl"
	done
done

for s in "${servers[@]}"; do
	jq -n --arg s "$s" --argjson st "${startup_ms[$s]}" --argjson idle "${idle_rss[$s]}" '{server: $s, startup_ms: $st, idle_rss_mib: $idle}'
done >"$OUT/servers.jsonl"

echo "== results (median over the rounds; ratios are Gatehouse/peer)"
jq -rs --slurpfile sv "$OUT/servers.jsonl" '
  def med: sort | if length == 0 then null elif length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end;
  def r2: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
  def ratio(a; b): if a == null or b == null or b == 0 then "-" else (a / b | r2) + "x" end;
  (group_by(.server) | map({key: .[0].server, value: {
      rate: (map(.rate_per_s) | med), p50: (map(.p50_ms) | med), p99: (map(.p99_ms) | med),
      cpu1k: (map(.server_cpu_s_per_1k // empty) | med), peak: (map(.server_peak_rss_mib // empty) | max),
      errors: (map(.errors) | add)}}) | from_entries) as $m
  | ($sv | map({key: .server, value: .}) | from_entries) as $s
  | "| server | req/s | p50 ms | p99 ms | CPU s per 1,000 | peak RSS MiB | idle RSS MiB | start-up ms | errors |",
    "|---|---|---|---|---|---|---|---|---|",
    ($m | to_entries[] | "| \(.key) | \(.value.rate | round) | \(.value.p50 | r2) | \(.value.p99 | r2) | \(.value.cpu1k | r2) | \(.value.peak | r2) | \($s[.key].idle_rss_mib) | \($s[.key].startup_ms) | \(.value.errors) |"),
    "",
    "| ratio | req/s | p50 | p99 | CPU per request | peak RSS | idle RSS | start-up |",
    "|---|---|---|---|---|---|---|---|",
    ([$m | keys[] | select(startswith("gatehouse"))] as $gs | [$m | keys[] | select(startswith("gatehouse") | not)] as $ps
     | $gs[] as $g | $ps[] as $p
     | "| \($g) / \($p) | \(ratio($m[$g].rate; $m[$p].rate)) | \(ratio($m[$g].p50; $m[$p].p50)) | \(ratio($m[$g].p99; $m[$p].p99)) | \(ratio($m[$g].cpu1k; $m[$p].cpu1k)) | \(ratio($m[$g].peak; $m[$p].peak)) | \(ratio($s[$g].idle_rss_mib; $s[$p].idle_rss_mib)) | \(ratio($s[$g].startup_ms; $s[$p].startup_ms)) |")
' "$OUT/compare.jsonl" | tee "$OUT/compare.md"
echo "== in $OUT: compare.md, compare.jsonl (a JSON line per run), servers.jsonl, the servers' logs"
