package server

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/store/replica"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// rywCookie marks a browser that has just written: for rywWindow its
// requests read the primary, so it sees its own change even while the
// replica lags (read-your-writes).
const (
	rywCookie = "gh_rw"
	rywWindow = 5 * time.Second
)

// openReplica opens the node's read replica (GATEHOUSE_DB_REPLICA, or its
// region's in GATEHOUSE_REGION_REPLICAS), nil when there is none.
func openReplica(cfg config.Config, driver string, opts Options) (*sqlstore.DB, error) {
	dsn := cfg.ReplicaDSN()
	if dsn == "" {
		return nil, nil
	}
	if driver != sqlstore.DriverPostgres {
		return nil, errors.New("GATEHOUSE_DB_REPLICA: a read replica needs the PostgreSQL database (GATEHOUSE_DB)")
	}
	return sqlstore.OpenReplica(dsn, sqlstore.Options{MaxOpenConns: cfg.DBMaxOpenConns, Now: opts.Now})
}

// newReads answers the router of lag-tolerant reads (primary only without
// a replica).
func newReads(db, rep *sqlstore.DB, log *slog.Logger) *replica.Reads {
	r := &replica.Reads{Primary: db, Log: log}
	if rep != nil { // never a typed nil in the interface
		r.Replica = rep
	}
	return r
}

// readYourWrites sends the requests of a browser that wrote in the last
// few seconds to the primary, and marks every writing request's browser
// so. Without a replica it does nothing.
func (a *App) readYourWrites(next http.Handler) http.Handler {
	if a.Reads.Replica == nil {
		return next
	}
	secure := strings.HasPrefix(a.Config.PublicURL, "https://")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie(rywCookie); err == nil {
			r = r.WithContext(replica.WithPrimary(r.Context()))
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			r = r.WithContext(replica.WithPrimary(r.Context()))
			http.SetCookie(w, &http.Cookie{Name: rywCookie, Value: "1", Path: "/", MaxAge: int(rywWindow / time.Second),
				HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
		}
		next.ServeHTTP(w, r)
	})
}

// replicaStatus is /readyz's word on the replica ("" without one).
func (a *App) replicaStatus() string {
	switch {
	case a.Reads.Replica == nil:
		return ""
	case a.Reads.Healthy():
		return "ok"
	}
	return "left out (reads go to the primary)"
}
