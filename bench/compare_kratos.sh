#!/usr/bin/env bash
# bench/compare_kratos.sh — Gatehouse's login and sign-up against Ory Kratos
# v1.3.1 on this machine, in one run, as ratios:
#
#   bench/compare_kratos.sh       # about 8 minutes after bench/peers.sh's first install
#
# 1. installs the peers (bench/peers.sh; nothing of theirs is committed) and
#    builds gatehouse and bench/load;
# 2. starts each server on free 127.0.0.1 ports, both on SQLite in a new
#    directory, and seeds the users who log in (4 per login client,
#    bench0@example.com, ..., with one password):
#      - gatehouse, default configuration (argon2id m=19 MiB, t=2, p=1),
#        started once to create the database and then again on it, sign-up
#        open with no per-address limit, one authorization-code client; users
#        made through its admin API;
#      - kratos `serve --dev --sqa-opt-out` with bench/peers/kratos.yml (the
#        same argon2id parameters, password method, an email trait, email
#        verification on with its courier not running, so a registration
#        queues its mail as Gatehouse's sign-up does; no HIBP lookup; SQLite
#        with `lock=false`), its schema made by `kratos migrate sql` first;
#        users made through its admin API (POST /admin/identities);
# 3. runs, ROUNDS times, each pair below at the same concurrency, the two
#    servers alternated (the order reversed every other round):
#      - login: Gatehouse's whole authorization-code + PKCE flow with a
#        password login (bench/load auth_code: authorize, login page,
#        password, callback, code exchange; tokens with an ID token) against
#        Kratos's API login (kratos_login: create the flow, submit the
#        password; a session token), LOGIN_CONCURRENCY clients;
#      - sign-up: Gatehouse's hosted sign-up form (signup, as
#        bench/signup_ab.sh) against Kratos's API registration
#        (kratos_registration), at each of SIGNUP_CONCURRENCY;
#    the generator reads each server's CPU time and peak RSS (VmHWM, reset
#    per run) from /proc;
# 4. prints the table and the ratios Gatehouse/Kratos (kratos.md in $OUT).
#    On a machine that other work keeps busy the rates follow the CPU each
#    server happened to get ("CPU it got", in cores); the CPU per flow, and
#    so "flows per CPU-second", holds better.
#
# Environment: DURATION (15s), WARMUP (2s), ROUNDS (3), LOGIN_CONCURRENCY
# (16), SIGNUP_CONCURRENCY ("16 64"), TIMEOUT (60s, the most one flow may
# take before it counts as an error), OUT (results directory), PEERS
# (bench/.peers).
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-3}
LOGIN_CONCURRENCY=${LOGIN_CONCURRENCY:-16}
SIGNUP_CONCURRENCY=${SIGNUP_CONCURRENCY:-16 64}
TIMEOUT=${TIMEOUT:-60s}
PEERS=${PEERS:-$PWD/bench/.peers}
OUT=${OUT:-$(mktemp -d -t gatehouse-kratos.XXXXXX)}
mkdir -p "$OUT"
export PEERS

bash bench/peers.sh

work=$(mktemp -d -t gatehouse-kratos-work.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
for v in $(env | grep -o '^GATEHOUSE_[A-Z0-9_]*' || true); do unset "$v"; done

echo "== compare with kratos, $(date -u +%Y-%m-%dT%H:%M:%SZ): commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with local changes)')," \
	"$(go version | cut -d' ' -f3), $(nproc) CPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   login at concurrency $LOGIN_CONCURRENCY, sign-up at $SIGNUP_CONCURRENCY; $DURATION per run after $WARMUP warm-up, $ROUNDS rounds alternated"
go build -o "$work/gatehouse" ./cmd/gatehouse
go build -o "$work/load" ./bench/load
"$PEERS/bin/kratos" version 2>/dev/null | head -n 2 | sed 's/^/   /' || true

password="pw-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
users=$((4 * LOGIN_CONCURRENCY))
declare -A pid_of base_of startup_ms idle_rss

start_gatehouse() {
	local dir="$work/data-gatehouse" port p t0
	mkdir -p "$dir"
	export GATEHOUSE_DATA_DIR="$dir"
	port=$(freeport)
	# First start: migrations, tenant and keys; then stop it.
	GATEHOUSE_ADDR=127.0.0.1:$port "$work/gatehouse" serve >"$OUT/gatehouse.first.log" 2>&1 &
	p=$!
	ready "http://127.0.0.1:$port/readyz" $p || { cat "$OUT/gatehouse.first.log"; exit 1; }
	kill -TERM $p
	wait $p || true
	t0=$(now_ms)
	GATEHOUSE_ADDR=127.0.0.1:$port "$work/gatehouse" serve >"$OUT/gatehouse.out" 2>"$OUT/gatehouse.log" &
	p=$!
	pids+=("$p")
	ready "http://127.0.0.1:$port/readyz" $p || { cat "$OUT/gatehouse.log"; exit 1; }
	startup_ms[gatehouse]=$(($(now_ms) - t0))
	pid_of[gatehouse]=$p
	base_of[gatehouse]="http://127.0.0.1:$port"
	local key ac
	key=$("$work/gatehouse" apikey create --tenant default --scopes admin --name bench 2>>"$OUT/cli.log")
	ac=$("$work/gatehouse" client create --tenant default --name bench --redirect-uri http://127.0.0.1:9/cb --json 2>>"$OUT/cli.log" | tail -n1)
	echo "$(jq -r .client_id <<<"$ac") $(jq -r .client_secret <<<"$ac")" >"$work/ac"
	for i in $(seq 0 $((users - 1))); do
		bench_user "${base_of[gatehouse]}" "$key" "bench$i@example.com" "$password" "$OUT/user.json"
	done
	curl -sS --fail-with-body -o "$OUT/tenant.json" -X PATCH "${base_of[gatehouse]}/api/v1/tenants/default" \
		-H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
		--data-binary '{"settings":{"self_service":{"signup":"open","signups_per_ip_hour":1000000}}}' ||
		{ cat "$OUT/tenant.json" >&2; exit 1; }
	unset GATEHOUSE_DATA_DIR
}

start_kratos() {
	local dir="$work/data-kratos" pub adm p t0 i
	mkdir -p "$dir"
	cp bench/peers/kratos.yml bench/peers/kratos.identity.schema.json "$dir/"
	pub=$(freeport)
	adm=$(freeport)
	# Kratos reads any setting from the environment too (upper case, _ for
	# the dots); the ports and this run's paths come from here.
	export DSN="sqlite://$dir/kratos.sqlite?_fk=true&mode=rwc&lock=false" \
		SERVE_PUBLIC_PORT=$pub SERVE_PUBLIC_BASE_URL="http://127.0.0.1:$pub/" \
		SERVE_ADMIN_PORT=$adm SERVE_ADMIN_BASE_URL="http://127.0.0.1:$adm/"
	(cd "$dir" && "$PEERS/bin/kratos" migrate sql -e --yes --config kratos.yml) >"$OUT/kratos.migrate.log" 2>&1 ||
		{ cat "$OUT/kratos.migrate.log"; exit 1; }
	t0=$(now_ms)
	(cd "$dir" && exec "$PEERS/bin/kratos" serve --config kratos.yml --dev --sqa-opt-out) >"$OUT/kratos.log" 2>&1 &
	p=$!
	pids+=("$p")
	ready "http://127.0.0.1:$pub/health/ready" $p || { cat "$OUT/kratos.log"; exit 1; }
	startup_ms[kratos]=$(($(now_ms) - t0))
	pid_of[kratos]=$p
	base_of[kratos]="http://127.0.0.1:$pub"
	unset DSN SERVE_PUBLIC_PORT SERVE_PUBLIC_BASE_URL SERVE_ADMIN_PORT SERVE_ADMIN_BASE_URL
	for i in $(seq 0 $((users - 1))); do
		curl -sS --fail-with-body -o "$OUT/identity.json" -X POST "http://127.0.0.1:$adm/admin/identities" \
			-H 'Content-Type: application/json' \
			--data-binary "{\"schema_id\":\"default\",\"traits\":{\"email\":\"bench$i@example.com\"},\"credentials\":{\"password\":{\"config\":{\"password\":\"$password\"}}}}" ||
			{ cat "$OUT/identity.json" >&2; exit 1; }
	done
}

echo "== start"
start_gatehouse
start_kratos
sleep 1
for s in gatehouse kratos; do
	idle_rss[$s]=$(rss "${pid_of[$s]}")
	echo "   $s: pid ${pid_of[$s]} on ${base_of[$s]}, ready after ${startup_ms[$s]} ms, idle RSS ${idle_rss[$s]} MiB after seeding $users users"
done

# load SERVER SCENARIO CONCURRENCY PAIR ROUND: one run, a JSON line.
load() {
	local s=$1 scen=$2 c=$3 pair=$4 r=$5 load1 id sec
	read -r id sec <"$work/ac"
	load1=$(cut -d' ' -f1 /proc/loadavg)
	echo "   round $r: $pair, $s ($scen), load average $load1"
	# The generator exits non-zero when an iteration failed; the JSON line
	# counts them.
	{ BENCH_AC_CLIENT_ID=$id BENCH_AC_CLIENT_SECRET=$sec BENCH_USER='bench%d@example.com' BENCH_PASSWORD=$password \
		"$work/load" -scenario "$scen" -base-url "${base_of[$s]}" -pid "${pid_of[$s]}" \
		-duration "$DURATION" -warmup "$WARMUP" -concurrency "$c" -timeout "$TIMEOUT" -json 2>>"$OUT/load.txt" || true; } |
		jq -c --arg s "$s" --arg pair "$pair" --argjson r "$r" --arg load1 "$load1" \
			'. + {server: $s, pair: $pair, round: $r, load1: ($load1 | tonumber)}' >>"$OUT/kratos.jsonl"
}

echo "== load"
for r in $(seq 1 "$ROUNDS"); do
	order=(gatehouse kratos)
	((r % 2)) || order=(kratos gatehouse)
	for s in "${order[@]}"; do
		if [[ $s == gatehouse ]]; then scen=auth_code; else scen=kratos_login; fi
		load "$s" "$scen" "$LOGIN_CONCURRENCY" "login, $LOGIN_CONCURRENCY clients" "$r"
	done
	for c in $SIGNUP_CONCURRENCY; do
		for s in "${order[@]}"; do
			if [[ $s == gatehouse ]]; then scen=signup; else scen=kratos_registration; fi
			load "$s" "$scen" "$c" "sign-up, $c clients" "$r"
		done
	done
done
echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in gatehouse kratos; do
	echo "   $s log: $(grep -ci '"level":"\(error\|fatal\)"\|level=error\|level=fatal' "$OUT/$s.log" || true) error lines," \
		"$(grep -ci 'database is locked\|database busy' "$OUT/$s.log" || true) lock-contention lines"
done
for s in gatehouse kratos; do
	jq -n --arg s "$s" --argjson st "${startup_ms[$s]}" --argjson idle "${idle_rss[$s]}" '{server: $s, startup_ms: $st, idle_rss_mib: $idle}'
done >"$OUT/servers.jsonl"

echo "== results (median over the rounds; peak RSS the largest; ratios are Gatehouse/Kratos)"
jq -rs --slurpfile sv "$OUT/servers.jsonl" '
  def med: sort | if length == 0 then null elif length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end;
  def r2: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
  def r1: if . == null then "-" else (. * 10 | round / 10 | tostring) end;
  def ratio(a; b): if a == null or b == null or b == 0 then "-" else (a / b | r2) + "x" end;
  (group_by(.pair) | map({key: .[0].pair, value: (group_by(.server) | map({key: .[0].server, value: {
      scenario: .[0].scenario, rate: (map(.rate_per_s) | med), rates: (map(.rate_per_s | r1) | join(", ")),
      p50: (map(.p50_ms) | med), p99: (map(.p99_ms) | med),
      cpu1k: (map(.server_cpu_s_per_1k // empty) | med),
      cores: (map(select(.server_cpu_s != null) | .server_cpu_s / .elapsed_s) | med), peak: (map(.server_peak_rss_mib // empty) | max),
      flows: (map(.requests) | add), errors: (map(.errors) | add),
      first: (map(.first_error // empty) | first // "")}}) | from_entries)}) | from_entries) as $m
  | ($sv | map({key: .server, value: .}) | from_entries) as $s
  | "| run | server (scenario) | flows/s (median) | each round | p50 ms | p99 ms | server CPU ms per flow | CPU it got (cores) | peak RSS MiB | flows | errors |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ($m | to_entries[] | .key as $p | .value | to_entries[] |
      "| \($p) | \(.key) (\(.value.scenario)) | \(.value.rate | r1) | \(.value.rates) | \(.value.p50 | r1) | \(.value.p99 | r1) | \(.value.cpu1k | r2) | \(.value.cores | r2) | \(.value.peak | r1) | \(.value.flows) | \(.value.errors)\(if .value.first != "" then " (" + (.value.first | .[0:80]) + ")" else "" end) |"),
    "",
    "| Gatehouse / Kratos | flows/s | flows per CPU-second | p50 | p99 | CPU per flow | peak RSS |",
    "|---|---|---|---|---|---|---|",
    ($m | to_entries[] | .key as $p | .value as $v | select($v.gatehouse and $v.kratos) |
      "| \($p) | \(ratio($v.gatehouse.rate; $v.kratos.rate)) | \(ratio($v.kratos.cpu1k; $v.gatehouse.cpu1k)) | \(ratio($v.gatehouse.p50; $v.kratos.p50)) | \(ratio($v.gatehouse.p99; $v.kratos.p99)) | \(ratio($v.gatehouse.cpu1k; $v.kratos.cpu1k)) | \(ratio($v.gatehouse.peak; $v.kratos.peak)) |"),
    ([$m[] | .gatehouse.peak // empty] | max) as $gp | ([$m[] | .kratos.peak // empty] | max) as $kp
    | "| whole run: peak RSS \($gp | r1) vs \($kp | r1) MiB | | | | | | \(ratio($gp; $kp)) |",
    "",
    "idle RSS after seeding: gatehouse \($s.gatehouse.idle_rss_mib) MiB, kratos \($s.kratos.idle_rss_mib) MiB; ready after start: gatehouse \($s.gatehouse.startup_ms) ms (warm database), kratos \($s.kratos.startup_ms) ms (migrated database)"
' "$OUT/kratos.jsonl" | tee "$OUT/kratos.md"
echo "== in $OUT: kratos.md, kratos.jsonl (a JSON line per run), the servers' logs"
