#!/usr/bin/env bash
# bench/all.sh — the comparison figures in one command (`make bench-compare`),
# about 9 minutes on 2 cores once bench/peers.sh has installed the peers
# (about 6 minutes more the first time, Kratos included):
#
#   1. bench/run.sh      every scenario, alternated with the baseline, and
#                        the limits (JWT signatures, argon2id);
#   2. bench/compare.sh  client_credentials against Hydra and oidc-provider
#                        (with PG=1, the default here, Gatehouse on
#                        PostgreSQL too);
#   3. bench/scale.sh    login with 1,000,000 users and 10,000 tenants,
#                        warm start, idle RSS, soak.
#
# Results go to $OUT (default bench/results/<UTC time>, ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
bash bench/peers.sh
DURATION=${RUN_DURATION:-8s} OUT="$OUT/run" bash bench/run.sh
PG=${PG:-1} OUT="$OUT/compare" bash bench/compare.sh
OUT="$OUT/scale" bash bench/scale.sh
echo "== all results in $OUT"
