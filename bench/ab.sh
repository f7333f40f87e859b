#!/usr/bin/env bash
# bench/ab.sh — two revisions of Gatehouse under the same load, A/B in one
# run on one machine, as ratios B/A:
#
#   bench/ab.sh A [B]          # B defaults to HEAD; about 4 minutes with the defaults
#   bench/ab.sh -report OUT/ab.jsonl   # the table of an earlier run again
#
# 1. builds each revision's gatehouse binary from its committed tree (a
#    detached git worktree in a temp dir, removed after the build; local
#    changes are not in it), and bench/load once from the current tree, so
#    both servers see the same generator;
# 2. starts both servers as bench/run.sh starts one: a fresh data dir
#    (SQLite), a free 127.0.0.1 port, the DEFAULT argon2id parameters and
#    log level (every GATEHOUSE_* variable cleared);
# 3. gives each the same fixtures as bench/run.sh: an admin API key, 4 users
#    per worker (bench{0..}@example.com) with one password, a confidential
#    authorization-code client and a client_credentials client; and, made
#    through the admin API, two more authorization-code clients for the
#    refresh variants: one declaring ES256 ID tokens (refresh_es256), one
#    with id_token_on_refresh false (refresh_no_id_token);
# 4. runs ROUNDS rounds; each round runs every scenario against A and B in
#    turn, the order reversed every other round (A B, B A, A B, ...), so
#    drift in the machine's load falls on both alike. One server is under
#    load at a time, the other idles;
# 5. prints per scenario the median over the rounds of A's and B's rate,
#    p99 latency and server CPU per iteration, the ratio B/A of the medians,
#    the lowest and highest of the per-round rate ratios, the highest peak
#    RSS of each server over the rounds (VmHWM, reset before each run where
#    the kernel allows), and the load average before each run (table.md,
#    ab.jsonl and the logs in $OUT).
#
# Environment: ROUNDS (5, at most 20), DURATION (10s per run), WARMUP (1s),
# CONCURRENCY (16), MAX_REQUESTS (1000000 per run), SCENARIOS (comma list;
# default client_credentials,auth_code), OUT (results directory; default a
# new temp dir), PERF (1: record each server with `perf record -g` during
# its runs of the last round, and write the hottest functions, inclusive
# and self, to perf-X-SCENARIO.txt; that round's figures carry perf's cost,
# on A and B alike), DB (sqlite, the default, or postgres: each server in a
# new schema of DB_DSN, a postgres:// URL with a query, dropped at the end;
# the CPU column is then the server's alone, not the database's).
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/lib.sh
# table FILE: the table of an ab.jsonl file: per scenario, the medians
# over the rounds for A and B, the ratios B/A of the medians, and the
# lowest and highest of the per-round ratios of the rate and the CPU.
table() {
	jq -rs '
  def med: sort | if length == 0 then null elif length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end;
  def f(n): if . == null then "-" else (. * pow(10; n) | round / pow(10; n) | tostring) end;
  def q(a; b): if a == null or b == null or b == 0 then null else a / b end;
  def side(x): map(select(.rev == x));
  def perround(k): [group_by(.round)[] | q((side("B")[0] | k); (side("A")[0] | k)) | select(. != null)];
  def span: "\(min | f(3))–\(max | f(3))";
  "A = \(side("A")[0].sha[0:10]), B = \(side("B")[0].sha[0:10]); \(map(.round) | max) rounds;" +
  " load average (1 min) before the runs: \(map(.load1) | min | f(2))–\(map(.load1) | max | f(2)), median \(map(.load1) | med | f(2))",
  "",
  "| scenario | rate A | rate B | **rate B/A** | per-round rate B/A | p99 A | p99 B | p99 B/A | CPU ms/iter A | CPU ms/iter B | CPU B/A | per-round CPU B/A | peak RSS MiB A | peak RSS MiB B | errors A/B |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  (group_by(.scenario)[] as $g
   | ($g | side("A")) as $A | ($g | side("B")) as $B
   | ($A | map(.rate_per_s) | med) as $ra | ($B | map(.rate_per_s) | med) as $rb
   | ($A | map(.p99_ms) | med) as $pa | ($B | map(.p99_ms) | med) as $pb
   | ($A | map(.server_cpu_s_per_1k // empty) | med) as $ca | ($B | map(.server_cpu_s_per_1k // empty) | med) as $cb
   | "| \($g[0].scenario) | \($ra | f(1)) \($g[0].unit)/s | \($rb | f(1)) \($g[0].unit)/s | **\(q($rb; $ra) | f(3))** | \($g | perround(.rate_per_s) | span)" +
     " | \($pa | f(1)) ms | \($pb | f(1)) ms | \(q($pb; $pa) | f(3)) | \($ca | f(3)) | \($cb | f(3)) | \(q($cb; $ca) | f(3))" +
     " | \($g | perround(.server_cpu_s_per_1k) | span)" +
     " | \($A | map(.server_peak_rss_mib // empty) | max | f(1)) | \($B | map(.server_peak_rss_mib // empty) | max | f(1))" +
     " | \($A | map(.errors) | add)/\($B | map(.errors) | add) |")
' "$1"
}

if [[ ${1:-} == -report && $# == 2 ]]; then
	table "$2"
	exit
fi
if [[ $# -lt 1 || $# -gt 2 ]]; then
	echo "usage: bench/ab.sh REVISION_A [REVISION_B (default HEAD)], or bench/ab.sh -report OUT/ab.jsonl" >&2
	exit 2
fi
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-1s}
CONCURRENCY=${CONCURRENCY:-16}
MAX_REQUESTS=${MAX_REQUESTS:-1000000}
SCENARIOS=${SCENARIOS:-client_credentials,auth_code}
OUT=${OUT:-$(mktemp -d -t gatehouse-ab.XXXXXX)}
if ! [[ $ROUNDS =~ ^[0-9]+$ ]] || ((ROUNDS < 1 || ROUNDS > 20)); then
	echo "ROUNDS must be 1 to 20" >&2
	exit 2
fi
IFS=, read -r -a scenarios <<<"$SCENARIOS"
for s in "${scenarios[@]}"; do
	case $s in
	client_credentials | client_credentials_dpop | auth_code | refresh | refresh_es256 | refresh_no_id_token | introspection | userinfo | jwks | discovery | signup) ;;
	*)
		echo "scenario $s: not supported here (needs fixtures or a baseline this script does not make)" >&2
		exit 2
		;;
	esac
done
sha_A=$(git rev-parse --verify "$1^{commit}")
sha_B=$(git rev-parse --verify "${2:-HEAD}^{commit}")
mkdir -p "$OUT"

work=$(mktemp -d -t gatehouse-ab-work.XXXXXX)
declare -A pid base db
DB=${DB:-sqlite}
cleanup() {
	for x in A B; do
		if [[ $DB == postgres && -n ${db[$x]:-} ]]; then
			PGOPTIONS="-c client_min_messages=warning" psql "$DB_DSN" -qc "DROP SCHEMA IF EXISTS gh_ab_$$_$x CASCADE" >/dev/null || true
		fi
		if [[ -n ${pid[$x]:-} ]] && kill -0 "${pid[$x]}" 2>/dev/null; then
			kill -TERM "${pid[$x]}" 2>/dev/null || true
			wait "${pid[$x]}" 2>/dev/null || true
		fi
		if [[ -d $work/src-$x ]]; then
			git worktree remove --force "$work/src-$x" 2>/dev/null || true
		fi
	done
	rm -rf "$work"
}
trap cleanup EXIT

# Defaults only: no config from the caller's environment reaches a server.
for v in $(env | grep -o '^GATEHOUSE_[A-Z0-9_]*' || true); do unset "$v"; done

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
echo "== gatehouse A/B, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(go version | cut -d' ' -f3), $(nproc) CPU, load average $(loadavg)"
echo "   A $sha_A $(git log -1 --format=%s "$sha_A" | cut -c1-60)"
echo "   B $sha_B $(git log -1 --format=%s "$sha_B" | cut -c1-60)"
echo "   scenarios $SCENARIOS; $ROUNDS rounds, the order A/B reversed every other round;" \
	"$DURATION per run (at most $MAX_REQUESTS iterations) after $WARMUP warm-up, concurrency $CONCURRENCY"
echo "   generator: bench/load of $(git rev-parse --short HEAD)$(git diff --quiet -- bench/load 2>/dev/null || echo ' (with local changes)')"

echo "== build"
for x in A B; do
	sha=sha_$x
	git worktree add --detach -q "$work/src-$x" "${!sha}"
	(cd "$work/src-$x" && go build -o "$work/gatehouse-$x" ./cmd/gatehouse)
	git worktree remove --force "$work/src-$x"
done
go build -o "$work/load" ./bench/load

# start X: serves revision X's binary on a fresh data dir (and, with
# DB=postgres, a new schema) and a free port.
start() {
	local x=$1 a=""
	db[$x]=""
	if [[ $DB == postgres ]]; then
		psql "${DB_DSN:?DB=postgres needs DB_DSN}" -qc "CREATE SCHEMA gh_ab_$$_$x" >/dev/null
		db[$x]="${DB_DSN}&search_path=gh_ab_$$_$x"
	fi
	: >"$OUT/server-$x.log"
	env ${db[$x]:+GATEHOUSE_DB=${db[$x]}} GATEHOUSE_DATA_DIR="$work/data-$x" GATEHOUSE_ADDR=127.0.0.1:0 "$work/gatehouse-$x" serve \
		>"$OUT/server-$x.out" 2>"$OUT/server-$x.log" &
	pid[$x]=$!
	# Both revisions log the same start-up line (internal/server/http.go).
	a=$(bench_listening "$OUT/server-$x.log" "${pid[$x]}")
	base[$x]="http://$a"
}

# fixtures X: bench/run.sh's API key, users and clients, made with revision
# X's own CLI on its own data dir (both revisions take the same flags:
# client create --tenant --name --redirect-uri --grant --json). Secrets stay
# in the work dir, out of $OUT.
fixtures() {
	local x=$1 key ac cc
	gh() { env ${db[$x]:+GATEHOUSE_DB=${db[$x]}} GATEHOUSE_DATA_DIR="$work/data-$x" "$work/gatehouse-$x" "$@" 2>>"$OUT/cli.log"; }
	key=$(gh apikey create --tenant default --scopes admin --name bench)
	ac=$(gh client create --tenant default --name bench --redirect-uri http://127.0.0.1:9/cb --json | tail -n1)
	cc=$(gh client create --tenant default --name bench-cc --grant client_credentials --json | tail -n1)
	for i in $(seq 0 $((4 * CONCURRENCY - 1))); do
		bench_user "${base[$x]}" "$key" "bench$i@example.com" "$password" "$work/user.json"
	done
	{
		echo "BENCH_CC_CLIENT_ID=$(jq -r .client_id <<<"$cc")"
		echo "BENCH_CC_CLIENT_SECRET=$(jq -r .client_secret <<<"$cc")"
		echo "BENCH_AC_CLIENT_ID=$(jq -r .client_id <<<"$ac")"
		echo "BENCH_AC_CLIENT_SECRET=$(jq -r .client_secret <<<"$ac")"
		bench_client "${base[$x]}" "$key" es256 '"id_token_signed_response_alg":"ES256"' "$work/client.json"
		bench_client "${base[$x]}" "$key" noid '"id_token_on_refresh":false' "$work/client.json"
	} >"$work/env-$x"
	# signup: self-service sign-up open, with no per-address limit in the
	# way (as bench/run.sh).
	if [[ ,$SCENARIOS, == *,signup,* ]]; then
		curl -sS --fail-with-body -o "$work/tenant.json" -X PATCH "${base[$x]}/api/v1/tenants/default" \
			-H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
			--data-binary '{"settings":{"self_service":{"signup":"open","signups_per_ip_hour":1000000}}}' ||
			{ cat "$work/tenant.json" >&2; exit 1; }
	fi
}

echo "== servers"
password="pw-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
for x in A B; do
	start "$x"
	fixtures "$x"
	echo "   $x: pid ${pid[$x]} on ${base[$x]}; API key, $((4 * CONCURRENCY)) users and four clients made;" \
		"idle RSS $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/${pid[$x]}/status")"
done

sha_of() { local v=sha_$1; echo "${!v}"; }

# one X SCENARIO ROUND: one run of the generator against X, its JSON line
# tagged with the revision, the round and the load average just before.
one() {
	local x=$1 s=$2 r=$3 la rc perf=""
	la=$(cut -d' ' -f1 /proc/loadavg)
	echo "   round $r: $s on $x (load average $la)"
	if [[ ${PERF:-0} == 1 && $r == "$ROUNDS" ]]; then
		perf record -q -F 499 -g -p "${pid[$x]}" -o "$OUT/perf-$x-$s.data" >/dev/null 2>&1 &
		perf=$!
	fi
	set +e
	env $(cat "$work/env-$x") BENCH_USER=bench%d@example.com BENCH_PASSWORD="$password" \
		"$work/load" -base-url "${base[$x]}" -pid "${pid[$x]}" -scenario "$s" -duration "$DURATION" \
		-max-requests "$MAX_REQUESTS" -concurrency "$CONCURRENCY" -warmup "$WARMUP" -json \
		2>>"$OUT/load.txt" >"$work/run.json"
	rc=$?
	set -e
	if [[ -n $perf ]]; then
		kill -INT "$perf" 2>/dev/null || true
		wait "$perf" 2>/dev/null || true
		{
			echo "# inclusive (with callees)"
			perf report -i "$OUT/perf-$x-$s.data" --children --sort symbol --stdio -g none --percent-limit 2 2>/dev/null | grep -v '^#' | grep . | sed -n 1,80p | cut -c1-150 || true
			echo "# self"
			perf report -i "$OUT/perf-$x-$s.data" --no-children --sort symbol --stdio -g none --percent-limit 0.5 2>/dev/null | grep -v '^#' | grep . | sed -n 1,60p | cut -c1-150 || true
		} >"$OUT/perf-$x-$s.txt"
	fi
	if [[ ! -s $work/run.json ]]; then
		echo "load against $x failed (exit $rc); see $OUT/load.txt" >&2
		exit 1
	fi
	jq -c --arg x "$x" --arg sha "$(sha_of "$x")" --argjson r "$r" --argjson la "$la" '. + {rev: $x, sha: $sha, round: $r, load1: $la}' \
		"$work/run.json" >>"$OUT/ab.jsonl"
}

echo "== load"
: >"$OUT/ab.jsonl"
for r in $(seq 1 "$ROUNDS"); do
	order=(A B)
	((r % 2 == 0)) && order=(B A)
	for s in "${scenarios[@]}"; do
		for x in "${order[@]}"; do one "$x" "$s" "$r"; done
	done
done

echo "== stop, load average $(loadavg)"
for x in A B; do
	kill -TERM "${pid[$x]}"
	wait "${pid[$x]}" || true
	echo "   $x: errors in the server log: $(grep -c '"level":"ERROR"' "$OUT/server-$x.log" || true)"
	pid[$x]=""
done

echo "== results: medians over $ROUNDS rounds; ratios B/A (rate: above 1 is faster; p99 and CPU: below 1 is better)"
table "$OUT/ab.jsonl" | tee "$OUT/table.md"
echo "== in $OUT: table.md, ab.jsonl (a JSON line per run: rev, sha, round, load1 added), load.txt, the servers' logs"
