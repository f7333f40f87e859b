// Package tlsserve terminates TLS in Gatehouse itself (GATEHOUSE_TLS):
// with acme, certificates for the public host and every verified custom
// domain come from an ACME CA through certmagic, kept in the database
// (Storage) so that all nodes share them and their locks; with files,
// certificates uploaded per custom domain are served by name.
package tlsserve

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Storage is certmagic's storage on the database: every value (account
// keys, certificates and their private keys, challenge data) is sealed
// with the master key bound to its storage key, and locks are rows with
// an expiry, so a node that dies holding one releases it when it
// expires.
type Storage struct {
	DB     store.TLSStorage
	Sealer *seal.Sealer
	Now    func() time.Time
	// LockTTL bounds how long a lock is held without its holder
	// releasing it; Poll is how often a waiting node tries again.
	LockTTL, Poll time.Duration
}

var _ certmagic.Storage = (*Storage)(nil)

func aad(key string) []byte { return []byte("tls_storage:" + key) }

// Store seals value and stores it under key.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	sealed, err := s.Sealer.Seal(value, aad(key))
	if err != nil {
		return err
	}
	return s.DB.Put(ctx, key, sealed)
}

// Load answers key's value; fs.ErrNotExist when absent (certmagic's
// contract).
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	sealed, _, err := s.DB.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fs.ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	v, err := s.Sealer.Open(sealed, aad(key))
	if err != nil {
		return nil, fmt.Errorf("tls storage %s: %w", key, err)
	}
	return v, nil
}

// Delete removes key and everything under it; absent is no error.
func (s *Storage) Delete(ctx context.Context, key string) error {
	if err := s.DB.Delete(ctx, key); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// Exists reports whether key holds a value or has keys under it.
func (s *Storage) Exists(ctx context.Context, key string) bool {
	_, err := s.Stat(ctx, key)
	return err == nil
}

// List answers the keys under path.
func (s *Storage) List(ctx context.Context, path string, recursive bool) ([]string, error) {
	keys, err := s.DB.Keys(ctx, path, recursive)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fs.ErrNotExist
	}
	return keys, nil
}

// Stat describes key: a value (terminal) or a prefix of others.
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	v, mod, err := s.DB.Get(ctx, key)
	if err == nil {
		return certmagic.KeyInfo{Key: key, Modified: mod, Size: int64(len(v)), IsTerminal: true}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return certmagic.KeyInfo{}, err
	}
	keys, err := s.DB.Keys(ctx, key, false)
	if err != nil {
		return certmagic.KeyInfo{}, err
	}
	if len(keys) == 0 {
		return certmagic.KeyInfo{}, fs.ErrNotExist
	}
	return certmagic.KeyInfo{Key: key, IsTerminal: false}, nil
}

// Lock waits until the named lock is this caller's or ctx ends.
func (s *Storage) Lock(ctx context.Context, name string) error {
	for {
		now := s.Now()
		ok, err := s.DB.TryLock(ctx, name, now, now.Add(s.LockTTL))
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.Poll):
		}
	}
}

// Unlock releases the named lock.
func (s *Storage) Unlock(ctx context.Context, name string) error {
	return s.DB.Unlock(context.WithoutCancel(ctx), name)
}
