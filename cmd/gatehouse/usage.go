package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// usageColumns are the billing export's CSV columns: logins are the
// successful ones, tokens the sum over every grant type.
var usageColumns = []string{"tenant_id", "tenant_slug", "month", "mau", "logins", "signups", "tokens", "api_calls"}

func runUsage(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "export" {
		fmt.Fprintln(env.stderr, "Usage: gatehouse usage export --month YYYY-MM [--format csv|json]")
		return errUsage
	}
	fs, l := flagSet(env, "usage export")
	month := fs.String("month", "", "the calendar month (UTC), YYYY-MM")
	format := fs.String("format", "csv", "csv or json")
	return withApp(ctx, env, fs, l, args[1:], func(app *server.App) error {
		if _, err := time.Parse("2006-01", *month); err != nil || len(*month) != 7 {
			return &exitError{code: 2, msg: "--month: want YYYY-MM, e.g. 2026-01"}
		}
		if *format != "csv" && *format != "json" {
			return &exitError{code: 2, msg: "--format: want csv or json"}
		}
		us, err := app.DB.Usage().ListUsage(ctx, *month)
		if err != nil {
			return err
		}
		if *format == "json" {
			out := make([]any, 0, len(us))
			for i := range us {
				out = append(out, api.UsageJSON(&us[i], true))
			}
			enc := json.NewEncoder(env.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}
		w := csv.NewWriter(env.stdout)
		if err := w.Write(usageColumns); err != nil {
			return err
		}
		for _, u := range us {
			var tokens int64
			for k, n := range u.Counters {
				if strings.HasPrefix(k, store.MetricTokensPrefix) {
					tokens += n
				}
			}
			i := func(n int64) string { return strconv.FormatInt(n, 10) }
			if err := w.Write([]string{string(u.Tenant), u.Slug, u.Month, i(u.MAU),
				i(u.Counters[store.MetricLoginsSucceeded]), i(u.Counters[store.MetricSignups]), i(tokens),
				i(u.Counters[store.MetricAPICalls])}); err != nil {
				return err
			}
		}
		w.Flush()
		return w.Error()
	})
}
