# bench/lib.sh — shell functions the bench scripts share; sourced, not run.

# bench_post BASE_URL API_KEY PATH JSON SCRATCH: POSTs JSON to the admin API
# of the server at BASE_URL (PATH under /api/v1/tenants/default), keeping
# the answer in the file SCRATCH; on failure prints it and exits.
bench_post() {
	if ! curl -sS --fail-with-body -o "$5" -X POST "$1/api/v1/tenants/default/$3" \
		-H "Authorization: Bearer $2" -H 'Content-Type: application/json' --data-binary "$4"; then
		cat "$5" >&2
		echo >&2
		exit 1
	fi
}

# bench_user BASE_URL API_KEY EMAIL PASSWORD SCRATCH: creates a user with a
# password through the admin API (see bench_post).
bench_user() {
	bench_post "$1" "$2" users "{\"email\":\"$3\",\"password\":\"$4\"}" "$5"
}

# bench_client BASE_URL API_KEY NAME EXTRA SCRATCH: creates a confidential
# authorization-code client (redirect URI http://127.0.0.1:9/cb) through the
# admin API (see bench_post), with the JSON members EXTRA (say
# "id_token_signed_response_alg":"ES256"), and prints
# BENCH_AC_<NAME>_CLIENT_ID and _SECRET lines (NAME in capitals).
bench_client() {
	bench_post "$1" "$2" clients "{\"name\":\"bench-$3\",\"redirect_uris\":[\"http://127.0.0.1:9/cb\"],$4}" "$5"
	echo "BENCH_AC_${3^^}_CLIENT_ID=$(jq -r .client_id "$5")"
	echo "BENCH_AC_${3^^}_CLIENT_SECRET=$(jq -r .client_secret "$5")"
	rm -f "$5"
}

# bench_listening LOG PID: waits up to 30 s for the server PID to log its
# start-up line (internal/server/http.go) in LOG and prints its address
# (127.0.0.1:PORT); prints the log and fails when the server exits or never
# listens.
bench_listening() {
	local a=""
	for _ in $(seq 1 3000); do
		a=$(grep -o '"msg":"gatehouse listening","addr":"127\.0\.0\.1:[0-9]*"' "$1" | grep -o '127\.0\.0\.1:[0-9]*' || true)
		[[ -n $a ]] && { echo "$a"; return 0; }
		kill -0 "$2" 2>/dev/null || break
		sleep 0.01
	done
	cat "$1" >&2
	echo "server $2 exited or is not listening after 30s" >&2
	return 1
}

# The peer comparisons' helpers: a free 127.0.0.1 port; the time in ms; the
# VmRSS of PID in MiB.
freeport() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
# ready URL PID: polls URL every 5 ms until it answers 200 (60 s at most).
ready() {
	for _ in $(seq 1 12000); do
		curl -fso /dev/null --max-time 1 "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.005
	done
	return 1
}
