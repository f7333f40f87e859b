// Package bench holds Gatehouse's load benchmarks: the load generator in
// bench/load, the script that runs it against a real server (run.sh), and,
// in limits_test.go, the limits each scenario is measured against — one
// JWT signature and one argon2id hash at the server's default parameters.
// Nothing here is imported by the server.
package bench
