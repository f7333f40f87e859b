# bench/lib.sh — shell functions the bench scripts share; sourced, not run.

# bench_user BASE_URL API_KEY EMAIL PASSWORD SCRATCH: creates a user with a
# password through the admin API of the server at BASE_URL; on failure
# prints the server's answer (kept in the file SCRATCH) and exits.
bench_user() {
	if ! curl -sS --fail-with-body -o "$5" -X POST "$1/api/v1/tenants/default/users" \
		-H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
		--data-binary "{\"email\":\"$3\",\"password\":\"$4\"}"; then
		cat "$5" >&2
		echo >&2
		exit 1
	fi
}

# bench_client BASE_URL API_KEY NAME EXTRA SCRATCH: creates a confidential
# authorization-code client (redirect URI http://127.0.0.1:9/cb) through the
# admin API of the server at BASE_URL, with the JSON members EXTRA (say
# "id_token_signed_response_alg":"ES256"), and prints
# BENCH_AC_<NAME>_CLIENT_ID and _SECRET lines (NAME in capitals); on
# failure prints the server's answer (kept in SCRATCH) and exits.
bench_client() {
	if ! curl -sS --fail-with-body -o "$5" -X POST "$1/api/v1/tenants/default/clients" \
		-H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
		--data-binary "{\"name\":\"bench-$3\",\"redirect_uris\":[\"http://127.0.0.1:9/cb\"],$4}"; then
		cat "$5" >&2
		echo >&2
		exit 1
	fi
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
