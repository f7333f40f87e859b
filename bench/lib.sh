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
