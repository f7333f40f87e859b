#!/usr/bin/env bash
# bench/profile.sh — a CPU profile of the server under one scenario of
# bench/load, read with `go tool pprof -top`:
#
#   bench/profile.sh SCENARIO [SECONDS]     # e.g. bench/profile.sh client_credentials 8
#
# Builds the current tree's gatehouse with -tags pprof (cmd/gatehouse/
# pprof.go: net/http/pprof on PPROF_ADDR, loopback only; release builds
# lack it) and bench/load, starts it on a fresh SQLite data dir (or, with
# DB=postgres, a new schema of DB_DSN) with the default argon2id
# parameters, makes bench/run.sh's fixtures, runs the scenario at
# concurrency 16 and takes a CPU profile of the server for SECONDS (8)
# meanwhile. Writes OUT/SCENARIO.pprof and OUT/SCENARIO-top.txt (the top
# 30 by flat and by cumulative time). Environment: DB, DB_DSN, OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
scenario=${1:?usage: bench/profile.sh SCENARIO [SECONDS]}
secs=${2:-8}
DB=${DB:-sqlite}
OUT=${OUT:-$(mktemp -d -t gatehouse-profile.XXXXXX)}
mkdir -p "$OUT"
for v in $(env | grep -o '^GATEHOUSE_[A-Z0-9_]*' || true); do unset "$v"; done
work=$(mktemp -d -t gatehouse-profile-work.XXXXXX)
pid="" schema=""
cleanup() {
	[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	[[ -n $schema ]] && PGOPTIONS="-c client_min_messages=warning" psql "$DB_DSN" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
go build -tags pprof -o "$work/gatehouse" ./cmd/gatehouse
go build -o "$work/load" ./bench/load
db=""
if [[ $DB == postgres ]]; then
	schema="gh_profile_$$"
	psql "${DB_DSN:?DB=postgres needs DB_DSN}" -qc "CREATE SCHEMA $schema" >/dev/null
	db="${DB_DSN}&search_path=$schema"
fi
gh() { env ${db:+GATEHOUSE_DB=$db} GATEHOUSE_DATA_DIR="$work/data" "$work/gatehouse" "$@"; }
pport=$((20000 + RANDOM % 20000))
# Not through gh: $! must be the server's own pid (env execs it).
env ${db:+GATEHOUSE_DB=$db} GATEHOUSE_DATA_DIR="$work/data" GATEHOUSE_ADDR=127.0.0.1:0 PPROF_ADDR=127.0.0.1:$pport \
	"$work/gatehouse" serve >"$OUT/server.out" 2>"$OUT/server.log" &
pid=$!
a=""
for _ in $(seq 1 3000); do
	a=$(grep -o '"msg":"gatehouse listening","addr":"127\.0\.0\.1:[0-9]*"' "$OUT/server.log" | grep -o '127\.0\.0\.1:[0-9]*' || true)
	[[ -n $a ]] && break
	sleep 0.01
done
[[ -n $a ]] || { cat "$OUT/server.log" >&2; exit 1; }
base="http://$a"
password="pw-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
key=$(gh apikey create --tenant default --scopes admin --name bench 2>/dev/null)
ac=$(gh client create --tenant default --name bench --redirect-uri http://127.0.0.1:9/cb --json 2>/dev/null | tail -n1)
cc=$(gh client create --tenant default --name bench-cc --grant client_credentials --json 2>/dev/null | tail -n1)
for i in $(seq 0 63); do bench_user "$base" "$key" "bench$i@example.com" "$password" "$work/user.json"; done
env BENCH_CC_CLIENT_ID="$(jq -r .client_id <<<"$cc")" BENCH_CC_CLIENT_SECRET="$(jq -r .client_secret <<<"$cc")" \
	BENCH_AC_CLIENT_ID="$(jq -r .client_id <<<"$ac")" BENCH_AC_CLIENT_SECRET="$(jq -r .client_secret <<<"$ac")" \
	BENCH_USER=bench%d@example.com BENCH_PASSWORD="$password" \
	"$work/load" -base-url "$base" -pid "$pid" -scenario "$scenario" -duration "$((secs + 3))s" -concurrency 16 \
	-warmup 1s -json >"$OUT/$scenario-load.json" 2>"$OUT/$scenario-load.txt" &
lpid=$!
sleep 2
curl -sS -o "$OUT/$scenario.pprof" "http://127.0.0.1:$pport/debug/pprof/profile?seconds=$secs"
wait "$lpid"
{
	echo "# $scenario, $DB, $(git rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%M:%SZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	jq -c '{rate_per_s, p99_ms, errors}' "$OUT/$scenario-load.json"
	go tool pprof -top -nodecount=30 "$OUT/$scenario.pprof" 2>/dev/null
	echo "# by cumulative time"
	go tool pprof -top -cum -nodecount=40 "$OUT/$scenario.pprof" 2>/dev/null
} >"$OUT/$scenario-top.txt"
echo "$OUT/$scenario-top.txt"
