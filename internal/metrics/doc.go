// Package metrics is a small, dependency-free implementation of the
// Prometheus text exposition format (version 0.0.4) for Gatehouse.
//
// A [Registry] holds metric families: counters ([CounterVec]), histograms
// ([HistogramVec]) and gauges or counters whose value is computed at scrape
// time ([Registry.NewGaugeFunc], [Registry.NewGaugeVecFunc],
// [Registry.NewCounterFunc]). [Registry.Handler] serves the registry for
// Prometheus to scrape, [Registry.Middleware] instruments an HTTP handler
// (typically a [net/http.ServeMux]) with request counts and latencies
// labelled by route pattern, and [Registry.RegisterDBStats] and
// [Registry.RegisterRuntime] export database pool and Go runtime statistics.
//
// All types are safe for concurrent use. Registration errors (invalid or
// duplicate names, wrong number of label values) are programmer errors and
// panic. To keep memory bounded under hostile input, each family holds at
// most [MaxSeriesPerFamily] label combinations; further new combinations are
// folded into a single series whose label values are all
// [OverflowLabelValue].
//
// Typical use:
//
//	reg := metrics.NewRegistry()
//	reg.RegisterRuntime()
//	reg.RegisterDBStats(db.Stats)
//	logins := reg.NewCounterVec("gatehouse_logins_total", "Login attempts by result.", "result")
//	logins.Inc("success")
//
//	mux := http.NewServeMux()
//	mux.Handle("GET /metrics", reg.Handler())
//	srv := &http.Server{Handler: reg.Middleware(mux)}
package metrics
