#!/usr/bin/env bash
# bench/signup_ab.sh — sign-up under load, two revisions A/B in one run:
#
#   bench/signup_ab.sh A [B]      # B defaults to HEAD
#
# Builds each revision's gatehouse from its committed tree (a detached git
# worktree in a temp dir) and bench/load from the current tree, then runs
# ROUNDS rounds, the order reversed every other round (A B, B A, ...). Each
# run starts a fresh server as bench/run.sh does (SQLite in a new data dir,
# or PostgreSQL in a new schema of $DB_DSN when DB=postgres; the DEFAULT
# argon2id parameters; every GATEHOUSE_* variable cleared), opens sign-up
# with no per-address limit, and runs bench/load's signup scenario
# (CONCURRENCY clients, 64 by default, for DURATION, 20s by default). Every
# answer but the "check your email" page counts as an error (a 5xx
# included). Prints one line per run and keeps the JSON lines and server
# logs in $OUT.
#
# Environment: ROUNDS (2), DURATION (20s), CONCURRENCY (64), TIMEOUT (60s,
# the most one sign-up may take before it counts as an error), DB (sqlite
# or postgres), DB_DSN (postgres://... when DB=postgres), OUT.
set -euo pipefail

cd "$(dirname "$0")/.."
A=${1:?usage: bench/signup_ab.sh A [B]}
B=${2:-HEAD}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-20s}
CONCURRENCY=${CONCURRENCY:-64}
DB=${DB:-sqlite}
TIMEOUT=${TIMEOUT:-60s}
OUT=${OUT:-$(mktemp -d -t gatehouse-signup-ab.XXXXXX)}
mkdir -p "$OUT"
work=$(mktemp -d -t gatehouse-signup-ab-work.XXXXXX)
pid=""
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
for v in $(env | grep -o '^GATEHOUSE_[A-Z0-9_]*' || true); do unset "$v"; done

build() { # build REV NAME
	local sha tree
	sha=$(git rev-parse --verify "$1^{commit}")
	tree="$work/tree-$2"
	git worktree add --detach -q "$tree" "$sha"
	(cd "$tree" && go build -o "$work/gatehouse-$2" ./cmd/gatehouse)
	git worktree remove --force "$tree"
	echo "$sha" >"$work/sha-$2"
}
echo "== build A=$A B=$B"
build "$A" A
build "$B" B
go build -o "$work/load" ./bench/load

schema_n=0
run() { # run NAME ROUND
	local name=$1 round=$2
	local data="$work/data-$name-$round" addr="" db=""
	if [[ $DB == postgres ]]; then
		schema_n=$((schema_n + 1))
		local schema="gh_signup_ab_$$_$schema_n"
		psql "${DB_DSN:?}" -qc "CREATE SCHEMA $schema" >/dev/null
		db="${DB_DSN}&search_path=$schema"
	fi
	GATEHOUSE_DATA_DIR=$data GATEHOUSE_ADDR=127.0.0.1:0 GATEHOUSE_DB=$db \
		"$work/gatehouse-$name" serve >/dev/null 2>"$OUT/server-$name-$round.log" &
	pid=$!
	for _ in $(seq 1 3000); do
		addr=$(grep -o '"msg":"gatehouse listening","addr":"127\.0\.0\.1:[0-9]*"' "$OUT/server-$name-$round.log" | grep -o '127\.0\.0\.1:[0-9]*' || true)
		[[ -n $addr ]] && break
		sleep 0.01
	done
	[[ -n $addr ]] || { cat "$OUT/server-$name-$round.log" >&2; exit 1; }
	local key
	key=$(GATEHOUSE_DATA_DIR=$data GATEHOUSE_DB=$db "$work/gatehouse-$name" apikey create --tenant default --scopes admin --name bench 2>/dev/null)
	curl -sS --fail-with-body -o /dev/null -X PATCH "http://$addr/api/v1/tenants/default" \
		-H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
		--data-binary '{"settings":{"self_service":{"signup":"open","signups_per_ip_hour":1000000}}}'
	local load1
	load1=$(cut -d' ' -f1 /proc/loadavg)
	# The generator exits non-zero when any iteration failed; the line
	# printed says how many did.
	{ "$work/load" -base-url "http://$addr" -pid "$pid" -scenario signup -duration "$DURATION" \
		-concurrency "$CONCURRENCY" -timeout "$TIMEOUT" -json 2>/dev/null || true; } |
		jq -c --arg rev "$name" --arg sha "$(cat "$work/sha-$name")" --argjson round "$round" --arg load1 "$load1" --arg db "$DB" \
			'. + {rev: $rev, sha: $sha, round: $round, load1: ($load1 | tonumber), db: $db}' | tee -a "$OUT/signup_ab.jsonl" |
		jq -r '"\(.db) \(.rev) round \(.round): \(.rate_per_s | . * 10 | round / 10) sign-ups/s, p99 \(.p99_ms | round) ms, \(.errors) errors of \(.requests) \(.first_error // ""), load \(.load1)"'
	kill -TERM "$pid"
	wait "$pid" || true
	pid=""
	echo "   server log: $(grep -c '"level":"ERROR"' "$OUT/server-$name-$round.log" || true) errors," \
		"$(grep -c 'database is locked\|database busy' "$OUT/server-$name-$round.log" || true) lock-contention lines"
	if [[ $DB == postgres ]]; then PGOPTIONS="-c client_min_messages=warning" psql "$DB_DSN" -qc "DROP SCHEMA $schema CASCADE" >/dev/null; fi
}

echo "== $ROUNDS rounds, $DB, $CONCURRENCY clients, $DURATION each; load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPU"
for r in $(seq 1 "$ROUNDS"); do
	if ((r % 2)); then run A "$r"; run B "$r"; else run B "$r"; run A "$r"; fi
done
echo "== results in $OUT"
