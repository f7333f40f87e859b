#!/usr/bin/env bash
# bench/scale.sh — the scaling figures on SQLite (or PostgreSQL with
# PG=1): password login (auth_code) with 1 user in 1 tenant, then with
# USERS users in the tenant and TENANTS more tenants seeded through the
# store's bulk path (bench/seed), the same load both times (logins spread
# over 4 users per worker, the same users both times); plus ready
# time on a warm database, idle RSS, and goroutines and heap before and
# after a SOAK of client_credentials load.
#
#   bench/scale.sh     # USERS=1000000 TENANTS=10000 DURATION=20s CONCURRENCY=16 SOAK=60s
set -euo pipefail

cd "$(dirname "$0")/.."
USERS=${USERS:-1000000}
TENANTS=${TENANTS:-10000}
DURATION=${DURATION:-20s}
CONCURRENCY=${CONCURRENCY:-16}
SOAK=${SOAK:-60s}
PG=${PG:-0}
OUT=${OUT:-$(mktemp -d -t gatehouse-scale.XXXXXX)}
mkdir -p "$OUT"
work=$(mktemp -d -t gatehouse-scale-work.XXXXXX)
pid=""
pgdb=""
cleanup() {
	if [[ -n $pid ]]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	if [[ -n $pgdb ]]; then psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $pgdb" >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
for v in $(env | grep -o '^GATEHOUSE_[A-Z0-9_]*' || true); do unset "$v"; done
export GATEHOUSE_DATA_DIR="$work/data"
if [[ $PG == 1 ]]; then
	pgdb="gh_scale_$$"
	psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $pgdb" >/dev/null
	export GATEHOUSE_DB="postgres://postgres@127.0.0.1:5432/$pgdb?sslmode=disable"
fi

echo "== scale, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD), $(nproc) CPU, load average $(cut -d' ' -f1-3 /proc/loadavg); backend $([[ -n ${GATEHOUSE_DB:-} ]] && echo PostgreSQL || echo SQLite)"
go build -o "$work/gatehouse" ./cmd/gatehouse
go build -o "$work/load" ./bench/load
go build -o "$work/seed" ./bench/seed
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
base="http://127.0.0.1:$port"

# serve NAME: starts the server and prints its ready time and idle RSS.
serve() {
	local t0
	t0=$(date +%s%N)
	GATEHOUSE_ADDR=127.0.0.1:$port "$work/gatehouse" serve >"$OUT/$1.out" 2>"$OUT/$1.log" &
	pid=$!
	for _ in $(seq 1 6000); do
		curl -fso /dev/null --max-time 1 "$base/readyz" && break
		kill -0 "$pid" || { cat "$OUT/$1.log"; exit 1; }
		sleep 0.005
	done
	echo "   $1: ready after $((($(date +%s%N) - t0) / 1000000)) ms; idle RSS $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$pid/status")"
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=""; }
metric() { curl -fsS "$base/metrics" | awk -v m="$1" '$1 == m {printf "%d\n", $2}'; }

serve first
stop
serve warm
password="pw-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
apikey=$("$work/gatehouse" apikey create --tenant default --scopes admin --name bench 2>>"$OUT/cli.log")
ac=$("$work/gatehouse" client create --tenant default --name bench --redirect-uri http://127.0.0.1:9/cb --json 2>>"$OUT/cli.log" | tail -n1)
cc=$("$work/gatehouse" client create --tenant default --name bench-cc --grant client_credentials --json 2>>"$OUT/cli.log" | tail -n1)
# The logins spread over 4 users per worker (bench/load's -user pattern):
# a login attempt counts against its account before the password check.
pool=$((4 * CONCURRENCY))
BENCH_PASSWORD=$password "$work/seed" -users "$pool" >>"$OUT/seed.txt"
export BENCH_AC_CLIENT_ID BENCH_AC_CLIENT_SECRET BENCH_CC_CLIENT_ID BENCH_CC_CLIENT_SECRET BENCH_PASSWORD=$password
BENCH_AC_CLIENT_ID=$(jq -r .client_id <<<"$ac")
BENCH_AC_CLIENT_SECRET=$(jq -r .client_secret <<<"$ac")
BENCH_CC_CLIENT_ID=$(jq -r .client_id <<<"$cc")
BENCH_CC_CLIENT_SECRET=$(jq -r .client_secret <<<"$cc")

login() {
	BENCH_USER=$2 "$work/load" -base-url "$base" -pid "$pid" -scenario auth_code -duration "$DURATION" \
		-concurrency "$CONCURRENCY" -warmup 2s -json 2>>"$OUT/load.txt" | jq -c --arg run "$1" '. + {run: $run}' >>"$OUT/scale.jsonl"
	jq -r --arg run "$1" 'select(.run == $run) | "   \(.run): \(.rate_per_s * 10 | round / 10) logins/s, p50 \(.p50_ms | round) ms, p99 \(.p99_ms | round) ms, errors \(.errors), peak RSS \(.server_peak_rss_mib // 0 | round) MiB"' "$OUT/scale.jsonl"
}

echo "== login, $pool users in 1 tenant"
login small "user%07d@example.com"

echo "== soak: client_credentials for $SOAK"
g0=$(metric go_goroutines)
h0=$(metric go_memstats_heap_alloc_bytes)
r0=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
"$work/load" -base-url "$base" -pid "$pid" -scenario client_credentials -duration "$SOAK" -concurrency "$CONCURRENCY" -warmup 0s -json \
	2>>"$OUT/load.txt" | jq -c '. + {run: "soak"}' >>"$OUT/scale.jsonl"
sleep 2
g1=$(metric go_goroutines)
h1=$(metric go_memstats_heap_alloc_bytes)
r1=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
echo "   goroutines $g0 -> $g1; heap $((h0 / 1048576)) -> $((h1 / 1048576)) MiB; RSS $((r0 / 1024)) -> $((r1 / 1024)) MiB" | tee "$OUT/soak.txt"
jq -r 'select(.run == "soak") | "   soak: \(.requests) requests, \(.rate_per_s | round) req/s, errors \(.errors)"' "$OUT/scale.jsonl"
stop

echo "== seed $USERS users and $TENANTS tenants (bulk path)"
BENCH_PASSWORD=$password "$work/seed" -from "$pool" -users "$((USERS - pool))" -tenants "$TENANTS" | tee -a "$OUT/seed.txt"
if [[ -n ${GATEHOUSE_DB:-} ]]; then
	# What an operator does after a bulk load: statistics now, not when
	# autovacuum gets to them in the middle of the measurement.
	t0=$(date +%s)
	psql -q -h 127.0.0.1 -U postgres -d "$pgdb" -c "VACUUM ANALYZE" >/dev/null
	echo "   VACUUM ANALYZE took $(($(date +%s) - t0)) s"
	# And the load's dirty pages on disk now (a checkpoint, then the
	# kernel's writeback), not flushed by the checkpointer while the
	# logins below wait on their commits' fsyncs.
	t0=$(date +%s)
	psql -q -h 127.0.0.1 -U postgres -d "$pgdb" -c "CHECKPOINT" >/dev/null
	sync
	echo "   CHECKPOINT and sync took $(($(date +%s) - t0)) s"
else
	echo "   database file $(du -m "$GATEHOUSE_DATA_DIR/gatehouse.db" | cut -f1) MiB"
fi
serve seeded
echo "== login, $USERS users in the tenant, $((TENANTS + 1)) tenants"
login large "user%07d@example.com"
stop

jq -rs 'map({key: .run, value: .}) | from_entries | "   login p99 with the seeded users / with one: \((.large.p99_ms / .small.p99_ms) * 100 | round / 100)x (target 1.2x); p50 \((.large.p50_ms / .small.p50_ms) * 100 | round / 100)x"' "$OUT/scale.jsonl" | tee "$OUT/ratio.txt"
echo "== in $OUT"
