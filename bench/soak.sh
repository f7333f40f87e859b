#!/usr/bin/env bash
# bench/soak.sh — an hour of mixed load at 70% of measured capacity, with the
# server's goroutines, heap and RSS sampled each minute:
#
#   bench/soak.sh                                  # SQLite, 60 minutes
#   DB=postgres://postgres@127.0.0.1:5432/test?sslmode=disable bench/soak.sh
#   MINUTES=2 SAMPLE=20 bench/soak.sh              # the short version CI runs
#
# 1. builds gatehouse, bench/load and bench/soakcheck;
# 2. starts `gatehouse serve` on a fresh data dir (SQLite) or, with DB set to
#    a PostgreSQL DSN, in a fresh schema of that database (dropped after);
# 3. creates an admin key, a SCIM key, 4 users per worker and the two bench
#    clients (bench/run.sh's fixtures);
# 4. measures capacity: the mixed scenario (bench/load/mixed.go: logins,
#    client_credentials, refreshes, introspections, userinfo, SCIM reads) as
#    fast as CONCURRENCY workers go, for PROBE;
# 5. runs the mix paced at FRACTION of that rate in SAMPLE-second chunks for
#    MINUTES; after each chunk samples go_goroutines and
#    go_memstats_heap_alloc_bytes from /metrics and VmRSS from /proc;
# 6. bench/soakcheck plots the samples (PNG) and fails the run when any
#    request failed or goroutines, heap or RSS grew (docs/BENCHMARKS.md,
#    "Soak", says how growth is judged).
#
# Each chunk is a separate bench/load run, bounded in time and count; its
# setup logs each worker in three times (tokens for refresh, introspection,
# userinfo), so every chunk also adds 3 x CONCURRENCY sessions.
#
# Environment: MINUTES (60), SAMPLE (60, seconds per chunk), CONCURRENCY
# (16), FRACTION (0.7), PROBE (15s), DB (empty: SQLite), OUT (results;
# default a new temp dir), PNG (the plot; default $OUT/soak.png).
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/lib.sh
MINUTES=${MINUTES:-60}
SAMPLE=${SAMPLE:-60}
CONCURRENCY=${CONCURRENCY:-16}
FRACTION=${FRACTION:-0.7}
PROBE=${PROBE:-15s}
DB=${DB:-}
OUT=${OUT:-$(mktemp -d -t gatehouse-soak.XXXXXX)}
PNG=${PNG:-$OUT/soak.png}
mkdir -p "$OUT"
chunks=$((MINUTES * 60 / SAMPLE))
((chunks >= 2 && chunks <= 1000)) || { echo "soak: MINUTES*60/SAMPLE must be 2..1000 chunks, got $chunks" >&2; exit 2; }

work=$(mktemp -d -t gatehouse-soak-work.XXXXXX)
pid=""
schema=""
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [[ -n $schema ]]; then
		psql "$DB" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
for v in $(env | grep -o '^GATEHOUSE_[A-Z0-9_]*' || true); do unset "$v"; done

backend=sqlite
db=""
if [[ -n $DB ]]; then
	backend=postgres
	schema="gh_soak_$$"
	psql "$DB" -qc "CREATE SCHEMA $schema" >/dev/null
	db="${DB}&search_path=$schema"
	[[ $DB == *\?* ]] || db="${DB}?search_path=$schema"
fi

echo "== gatehouse soak ($backend), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "   commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) CPU, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   $MINUTES min in $chunks chunks of ${SAMPLE}s at $FRACTION of capacity, concurrency $CONCURRENCY"
go build -o "$work/gatehouse" ./cmd/gatehouse
go build -o "$work/load" ./bench/load
go build -o "$work/soakcheck" ./bench/soakcheck

export GATEHOUSE_DATA_DIR="$work/data" GATEHOUSE_DB=$db
GATEHOUSE_ADDR=127.0.0.1:0 "$work/gatehouse" serve >"$OUT/server.out" 2>"$OUT/server.log" &
pid=$!
base="http://$(bench_listening "$OUT/server.log" "$pid")"
gh() { "$work/gatehouse" "$@" 2>>"$OUT/cli.log"; }
json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
apikey=$(gh apikey create --tenant default --scopes admin --name soak)
scimkey=$(gh apikey create --tenant default --scopes scim --name soak-scim)
ac=$(gh client create --tenant default --name soak --redirect-uri http://127.0.0.1:9/cb --json | tail -n1)
cc=$(gh client create --tenant default --name soak-cc --grant client_credentials --json | tail -n1)
password="pw-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
for i in $(seq 0 $((4 * CONCURRENCY - 1))); do
	bench_user "$base" "$apikey" "soak$i@example.com" "$password" "$OUT/user.json"
done
export BENCH_CC_CLIENT_ID=$(json_field client_id <<<"$cc") BENCH_CC_CLIENT_SECRET=$(json_field client_secret <<<"$cc") \
	BENCH_AC_CLIENT_ID=$(json_field client_id <<<"$ac") BENCH_AC_CLIENT_SECRET=$(json_field client_secret <<<"$ac") \
	BENCH_USER=soak%d@example.com BENCH_PASSWORD=$password BENCH_SCIM_TOKEN=$scimkey
echo "   pid $pid on $base; idle RSS $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$pid/status")"

load() { "$work/load" -base-url "$base" -pid "$pid" -scenario mixed -concurrency "$CONCURRENCY" -json "$@"; }

echo "== capacity: mixed for $PROBE"
load -duration "$PROBE" -warmup 2s >"$OUT/probe.jsonl" 2>>"$OUT/load.txt"
rate=$("$work/soakcheck" -rate-of "$OUT/probe.jsonl" -fraction "$FRACTION")
echo "   capacity $(sed -n 's/.*"rate_per_s":\([0-9.]*\).*/\1/p' "$OUT/probe.jsonl") iterations/s; soak pace $rate/s"

sample() { # sample ELAPSED_S
	local m g h r
	m=$(curl -sS --max-time 10 "$base/metrics")
	g=$(awk '$1 == "go_goroutines" {print $2}' <<<"$m")
	h=$(awk '$1 == "go_memstats_heap_alloc_bytes" {printf "%d", $2}' <<<"$m")
	r=$(awk '/VmRSS/ {print $2 * 1024}' "/proc/$pid/status")
	echo "$1,$g,$h,$r" >>"$OUT/samples.csv"
}
echo "elapsed_s,goroutines,heap_bytes,rss_bytes" >"$OUT/samples.csv"
: >"$OUT/load.jsonl"
sample 0
echo "== soak"
t0=$(date +%s)
failed=0
for n in $(seq 1 "$chunks"); do
	# A chunk with errors makes bench/load exit 3; the soak goes on so the
	# samples show what happened, and soakcheck fails the run at the end.
	load -rate "$rate" -duration "${SAMPLE}s" -warmup 0s >>"$OUT/load.jsonl" 2>>"$OUT/load.txt" || failed=$((failed + 1))
	kill -0 "$pid" 2>/dev/null || { echo "server exited during chunk $n" >&2; tail -n 20 "$OUT/server.log" >&2; exit 1; }
	sample $(($(date +%s) - t0))
	tail -n1 "$OUT/samples.csv" | awk -F, -v n="$n" -v c="$chunks" '{printf "   chunk %d/%d: t=%ss goroutines %s heap %.1f MiB RSS %.1f MiB\n", n, c, $1, $2, $3/1048576, $4/1048576}'
done
logerrs=$(grep -c '"level":"ERROR"' "$OUT/server.log" || true)
echo "   chunks with errors: $failed; errors in the server log: $logerrs"

echo "== verdict"
"$work/soakcheck" -samples "$OUT/samples.csv" -load "$OUT/load.jsonl" -png "$PNG" -server-errors "$logerrs" \
	-title "gatehouse soak, $backend, $MINUTES min at $FRACTION of capacity ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))" | tee "$OUT/verdict.txt"
