package server

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// statusWriter remembers the status for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog writes one line per request. Only the path is logged: query
// strings can carry codes and tokens.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("route", r.Pattern), slog.Int("status", sw.status),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", httpx.RequestID(r.Context())),
			slog.String("client_ip", httpx.ClientIP(r)))
	})
}

// recoverer turns a handler panic into a bare 500 and a log line.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic serving request", "panic", v,
					"request_id", httpx.RequestID(r.Context()))
				httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusInternalServerError, "internal",
					"Internal error", "The server could not complete the request."))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitInFlight sheds load past max concurrent requests with 429.
func limitInFlight(max int, next http.Handler) http.Handler {
	sem := make(chan struct{}, max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case sem <- struct{}{}:
			defer func() { <-sem }()
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusTooManyRequests, "overloaded",
				"Too many requests", "The server is at capacity; retry shortly."))
		}
	})
}
