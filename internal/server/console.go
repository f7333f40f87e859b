package server

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gatehouse-id/gatehouse/internal/console"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// bootstrapConsole gives every tenant the built-in console roles and,
// while no platform administrator exists, logs a one-time setup link and
// prints it to out.
func (a *App) bootstrapConsole(ctx context.Context, out io.Writer) error {
	if err := a.Setup.EnsureBuiltinRoles(ctx); err != nil {
		return fmt.Errorf("console roles: %w", err)
	}
	link, err := a.Setup.SetupLink(ctx)
	if errors.Is(err, store.ErrNotFound) {
		// The admin tenant lives in another region's database (or has not
		// been created yet): that region's nodes offer the setup link.
		a.Log.Info("console setup: the admin tenant is not in this node's database; no setup link here",
			"admin_tenant", a.Config.AdminTenant)
		return nil
	}
	if err != nil {
		return fmt.Errorf("console setup link: %w", err)
	}
	if link != "" {
		// The link is a secret for one hour and one use: it goes to the
		// operator's log on purpose (no administrator exists to see it
		// anywhere else).
		a.Log.Info("no platform administrator yet: open the one-time setup link (valid for one hour) to create one",
			"setup_url", link)
		fmt.Fprintf(out, "Create the first administrator (link valid for one hour, single use):\n  %s\n", link)
	}
	return nil
}

// Console answers the admin console surface (its tests reach it here).
func (a *App) Console() *console.Console { return a.surfaces.console }
