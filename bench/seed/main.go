// Command seed fills a Gatehouse database for the scaling benchmarks
// through the store's bulk path, not the API: -users users in
// one tenant (user0000000@example.com ..., all with the one password
// given in BENCH_PASSWORD, hashed once with argon2id at the default
// parameters) and -tenants extra tenants (t00000 ..., without signing keys:
// rows a lookup has to pass, not tenants anyone logs in to).
//
//	GATEHOUSE_DATA_DIR=/tmp/x BENCH_PASSWORD=... go run ./bench/seed -users 1000000 -tenants 10000
//
// It reads the database from GATEHOUSE_DB / GATEHOUSE_DATA_DIR as the
// server does; the server must have started once on it (the tenant exists).
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/google/uuid"
)

// Bounds: a typo cannot fill a disk.
const (
	maxUsers   = 5_000_000
	maxTenants = 100_000
	batch      = 10_000
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	users := fs.Int("users", 0, "users to add to -tenant (at most 5,000,000)")
	tenants := fs.Int("tenants", 0, "tenants to add (at most 100,000)")
	slug := fs.String("tenant", "default", "the tenant the users join")
	from := fs.Int("from", 0, "number of the first user (to seed more later)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *users < 0 || *users > maxUsers || *tenants < 0 || *tenants > maxTenants {
		return fmt.Errorf("-users 0..%d and -tenants 0..%d", maxUsers, maxTenants)
	}
	password := os.Getenv("BENCH_PASSWORD")
	if *users > 0 && password == "" {
		return errors.New("set BENCH_PASSWORD: the seeded users' password")
	}
	cfg := config.Config{DataDir: os.Getenv("GATEHOUSE_DATA_DIR"), DB: os.Getenv("GATEHOUSE_DB")}
	if cfg.DataDir == "" && cfg.DB == "" {
		return errors.New("set GATEHOUSE_DATA_DIR or GATEHOUSE_DB")
	}
	driver, dsn := cfg.DSN()
	db, err := sqlstore.Open(ctx, driver, dsn, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer db.Close()

	if *users > 0 {
		t, err := db.Tenants().GetTenantBySlug(ctx, *slug)
		if err != nil {
			return fmt.Errorf("tenant %q (start the server once first): %w", *slug, err)
		}
		h, err := credential.NewHasher(credential.DefaultParams, rand.Reader)
		if err != nil {
			return err
		}
		hash, err := h.Hash(password)
		if err != nil {
			return err
		}
		start := time.Now()
		for i := 0; i < *users; i += batch {
			n := min(batch, *users-i)
			us := make([]store.User, n)
			for j := range us {
				email := fmt.Sprintf("user%07d@example.com", *from+i+j)
				us[j] = store.User{ID: uuid.Must(uuid.NewV7()).String(), Tenant: t.ID, Email: email, EmailNorm: email,
					GivenName: "Seeded", FamilyName: "User", Status: store.UserActive, EmailVerified: true,
					Attributes: []byte(`{}`), PasswordHash: hash}
			}
			if err := db.Users().InsertUsers(ctx, t.ID, us); err != nil {
				return fmt.Errorf("users %d..%d: %w", *from+i, *from+i+n-1, err)
			}
		}
		fmt.Printf("seeded %d users into %s in %v\n", *users, *slug, time.Since(start).Round(time.Millisecond))
	}
	if *tenants > 0 {
		start := time.Now()
		for i := range *tenants {
			s := fmt.Sprintf("t%05d", i)
			// A tenant as the API makes one: with its built-in roles, in
			// the transaction that creates it.
			err := db.InTx(ctx, func(tx store.Repos) error {
				t := &store.Tenant{ID: store.TenantID(uuid.Must(uuid.NewV7()).String()), Slug: s, Name: s}
				if err := tx.Tenants().CreateTenant(ctx, t); err != nil {
					return err
				}
				return authz.EnsureBuiltinRoles(ctx, tx, t.ID, func() string { return uuid.Must(uuid.NewV7()).String() }, time.Now())
			})
			if err != nil && !errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("tenant %s: %w", s, err)
			}
		}
		fmt.Printf("seeded %d tenants in %v\n", *tenants, time.Since(start).Round(time.Millisecond))
	}
	return nil
}
