package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func runEvents(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "tail" {
		fmt.Fprintln(env.stderr, "Usage: gatehouse events tail --tenant SLUG [--format json|cef] [--cursor ID] [--follow]")
		return errUsage
	}
	fs, l := flagSet(env, "events tail")
	tenant := fs.String("tenant", "", "tenant slug or id")
	format := fs.String("format", "json", "json (one object a line) or cef (ArcSight Common Event Format)")
	cursor := fs.String("cursor", "", "start after this event id")
	follow := fs.Bool("follow", false, "keep printing events as they happen, until interrupted")
	return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
		if *format != "json" && *format != "cef" {
			return &exitError{code: 2, msg: "--format: want json or cef"}
		}
		if *tenant == "" {
			return &exitError{code: 2, msg: "--tenant: give the tenant's slug or id"}
		}
		t, err := app.Tenants.Resolve(ctx, *tenant)
		if err != nil {
			return fmt.Errorf("tenant %q: %w", *tenant, err)
		}
		after := *cursor
		for {
			evs, err := app.DB.Events().Outbox().ListEvents(ctx, t.ID, after, 500)
			if err != nil {
				return err
			}
			for i := range evs {
				if err := writeEvent(env.stdout, *format, &evs[i]); err != nil {
					return err
				}
				after = evs[i].ID
			}
			if len(evs) > 0 {
				continue
			}
			if !*follow {
				return nil
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
	})
}

func writeEvent(w io.Writer, format string, e *store.OutboxEvent) error {
	if format == "cef" {
		_, err := io.WriteString(w, cefLine(e)+"\n")
		return err
	}
	b, err := json.Marshal(api.EventJSON(e))
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// cefSeverity ranks event types for a SIEM (0 to 10); the rest are 3.
var cefSeverity = map[string]int{
	"login.failed": 5, "login.risk": 7, "user.disabled": 5, "mfa.removed": 6, "user.password.changed": 5,
	"elevation.granted": 6, "role.assigned": 4, "user.erased": 4, "user.deleted": 4, "session.ended": 2,
	"login.succeeded": 2, "session.created": 2, "tenant.suspended": 6, "usage.threshold": 4,
}

// cefLine renders e in the Common Event Format: a header of
// pipe-separated fields (| and \ escaped), then key=value extensions (=,
// \ and line breaks escaped) with the event's id, time, tenant, user and
// data.
func cefLine(e *store.OutboxEvent) string {
	sev, ok := cefSeverity[e.Type]
	if !ok {
		sev = 3
	}
	hdr := strings.NewReplacer(`\`, `\\`, `|`, `\|`)
	ext := strings.NewReplacer(`\`, `\\`, `=`, `\=`, "\r", `\r`, "\n", `\n`)
	parts := []string{"CEF:0", "Gatehouse", "Gatehouse", "1", hdr.Replace(e.Type), hdr.Replace(e.Type), strconv.Itoa(sev)}
	x := []string{
		"rt=" + strconv.FormatInt(e.CreatedAt.UnixMilli(), 10),
		"externalId=" + ext.Replace(e.ID),
		"cs1Label=tenant", "cs1=" + ext.Replace(string(e.Tenant)),
	}
	if e.UserID != "" {
		x = append(x, "suid="+ext.Replace(e.UserID))
	}
	x = append(x, "msg="+ext.Replace(string(e.Data)))
	return strings.Join(parts, "|") + "|" + strings.Join(x, " ")
}
