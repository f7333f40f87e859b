#!/usr/bin/env bash
# bench/run.sh — the load benchmark in one command, in about 2 minutes
# on 2 cores (plus the first build):
#
#   bench/run.sh
#
# 1. builds gatehouse and bench/load;
# 2. measures the limits before the server starts, and again after it
#    stops (bench/limits_test.go: one ES256 and one RS256 signature, one
#    argon2id hash at the server's default parameters; each on one core and
#    on every core); the faster of the two counts, since noise from the rest
#    of the machine only ever slows an operation down;
# 3. starts `gatehouse serve` on a fresh data dir (SQLite) and a free
#    127.0.0.1 port, with the DEFAULT argon2id parameters (m=19 MiB, t=2,
#    p=1: every GATEHOUSE_* variable is cleared) and the default log level;
# 4. creates an admin API key, a user with a password, a confidential
#    authorization-code client and a client_credentials client;
# 5. runs the scenarios alternated with the baseline (an empty net/http
#    handler under the same generator), all at the same concurrency;
# 6. stops the server, measures the limits again and prints the final table
#    (each scenario against its baseline and its limit); the results stay in
#    $OUT.
#
# Environment: DURATION (10s per scenario), CONCURRENCY (16), WARMUP (1s),
# MAX_REQUESTS (1000000 per scenario, the generator's hard cap), SCENARIOS
# (comma list), OUT (results directory; default a new temp dir), TOTP_USERS
# (users auth_code_totp enrols a TOTP factor for; 96 per worker: one login
# each per 30-s step, so at least the flows of one scenario's run).
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-16}
WARMUP=${WARMUP:-1s}
MAX_REQUESTS=${MAX_REQUESTS:-1000000}
SCENARIOS=${SCENARIOS:-baseline,discovery,baseline,jwks,baseline,client_credentials,baseline,refresh,baseline,introspection,baseline,userinfo,baseline,auth_code,baseline,auth_code_totp,baseline,signup,baseline}
OUT=${OUT:-$(mktemp -d -t gatehouse-bench.XXXXXX)}
TOTP_USERS=${TOTP_USERS:-$((96 * CONCURRENCY))}
mkdir -p "$OUT"

work=$(mktemp -d -t gatehouse-bench-work.XXXXXX)
pid=""
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# Defaults only: no config from the caller's environment reaches the server.
for v in $(env | grep -o '^GATEHOUSE_[A-Z0-9_]*' || true); do unset "$v"; done

echo "== gatehouse bench, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "   commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with local changes)')," \
	"$(go version | cut -d' ' -f3), $(nproc) CPU, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   duration $DURATION per scenario (at most $MAX_REQUESTS iterations) after $WARMUP warm-up, concurrency $CONCURRENCY"

echo "== build"
go build -o "$work/gatehouse" ./cmd/gatehouse
go build -o "$work/load" ./bench/load

echo "== limits (go test -bench ./bench/)"
go test -run '^$' -bench . -benchtime 1s ./bench/ | tee "$OUT/limits.txt" | grep -E '^(cpu:|Benchmark)'

echo "== server"
export GATEHOUSE_DATA_DIR="$work/data"
t0=$(date +%s%N)
GATEHOUSE_ADDR=127.0.0.1:0 "$work/gatehouse" serve >"$OUT/server.out" 2>"$OUT/server.log" &
pid=$!
addr=$(bench_listening "$OUT/server.log" "$pid")
ready_ms=$((($(date +%s%N) - t0) / 1000000))
base="http://$addr"
echo "   pid $pid on $base, listening after ${ready_ms} ms (fresh database: migrations, tenant and keys included)"
echo "   argon2id: server defaults (no GATEHOUSE_ARGON2_* set: m=19456 KiB, t=2, p=1); log level info, to a file"

gh() { "$work/gatehouse" "$@" 2>>"$OUT/cli.log"; }
apikey=$(gh apikey create --tenant default --scopes admin --name bench)
json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
ac=$(gh client create --tenant default --name bench --redirect-uri http://127.0.0.1:9/cb --json | tail -n1)
cc=$(gh client create --tenant default --name bench-cc --grant client_credentials --json | tail -n1)
password="pw-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
# Four users per worker (bench0@example.com, ...): a login attempt counts
# against its account before the password check, so one account logging in
# from every worker at once would be throttled (bench/load's -user).
mkuser() { bench_user "$base" "$apikey" "$1" "$password" "$OUT/user.json"; }
for i in $(seq 0 $((4 * CONCURRENCY - 1))); do mkuser "bench$i@example.com"; done
# auth_code_totp: users of their own (a TOTP factor would stop
# the password-only logins above), benchtotp0@example.com, ...; the
# generator enrols their factors through the account pages before the
# scenario. A user sends one code per 30-s step (the server refuses a
# replay), hence many of them.
if [[ ,$SCENARIOS, == *,auth_code_totp,* ]]; then
	for i in $(seq 0 $((TOTP_USERS - 1))); do mkuser "benchtotp$i@example.com"; done
	echo "   created $TOTP_USERS users benchtotp{0..$((TOTP_USERS - 1))}@example.com for auth_code_totp"
fi
# Self-service sign-up open, with no per-address limit in the way.
curl -sS --fail-with-body -o "$OUT/tenant.json" -X PATCH "$base/api/v1/tenants/default" \
	-H "Authorization: Bearer $apikey" -H 'Content-Type: application/json' \
	--data-binary '{"settings":{"self_service":{"signup":"open","signups_per_ip_hour":1000000}}}' ||
	{ cat "$OUT/tenant.json" >&2; exit 1; }
echo "   created an API key, $((4 * CONCURRENCY)) users bench{0..$((4 * CONCURRENCY - 1))}@example.com and clients $(json_field client_id <<<"$ac") (authorization_code)" \
	"and $(json_field client_id <<<"$cc") (client_credentials)"
echo "   idle RSS $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$pid/status")"

echo "== load"
set +e
BENCH_CC_CLIENT_ID=$(json_field client_id <<<"$cc") BENCH_CC_CLIENT_SECRET=$(json_field client_secret <<<"$cc") \
	BENCH_AC_CLIENT_ID=$(json_field client_id <<<"$ac") BENCH_AC_CLIENT_SECRET=$(json_field client_secret <<<"$ac") \
	BENCH_USER=bench%d@example.com BENCH_PASSWORD=$password BENCH_TOTP_USER=benchtotp%d@example.com \
	"$work/load" -base-url "$base" -pid "$pid" -scenario "$SCENARIOS" -duration "$DURATION" \
	-max-requests "$MAX_REQUESTS" -concurrency "$CONCURRENCY" -warmup "$WARMUP" -totp-users "$TOTP_USERS" -json \
	2>&1 >"$OUT/load.jsonl" | tee "$OUT/load.txt"
rc=${PIPESTATUS[0]}
set -e

echo "== stop"
echo "   server after the run: $(awk '/VmHWM|VmRSS/ {printf "%s %.1f MiB  ", $1, $2/1024}' "/proc/$pid/status")"
echo "   data dir before shutdown: $(du -sm "$GATEHOUSE_DATA_DIR" | cut -f1) MiB" \
	"(WAL $(($(stat -c %s "$GATEHOUSE_DATA_DIR/gatehouse.db-wal" 2>/dev/null || echo 0) / 1048576)) MiB);" \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
kill -TERM "$pid"
wait "$pid" || true
pid=""
echo "   errors in the server log: $(grep -c '"level":"ERROR"' "$OUT/server.log" || true)"

echo "== limits again, the server stopped"
go test -run '^$' -bench . -benchtime 1s ./bench/ | tee -a "$OUT/limits.txt" | grep '^Benchmark'

echo "== results (limits: the faster of the two measurements)"
"$work/load" -report "$OUT/load.jsonl" -limits "$OUT/limits.txt" -json 2>&1 >"$OUT/results.jsonl" | tee "$OUT/table.txt"
echo "== in $OUT: results.jsonl (a JSON line per scenario), table.txt, limits.txt, server.log"
exit "$rc"
