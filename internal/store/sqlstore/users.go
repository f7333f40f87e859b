package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/ident"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

type userRepo struct{ *scope }

// userCols is what reads select, always from "users u" so search can add
// joins. The *_lc search columns are derived and never read back.
const userCols = `u.tenant_id, u.id, u.email, u.email_norm, u.username, u.username_norm, u.given_name, u.family_name,
u.phone, u.locale, u.status, u.email_verified, u.phone_verified, u.attributes, u.password_hash, u.version,
u.created_at, u.updated_at, u.last_login_at, u.email_verified_upstream`

// userInsertCols matches userArgs.
const userInsertCols = `tenant_id, id, email, email_norm, username, username_norm, given_name, given_name_lc,
family_name, family_name_lc, phone, locale, status, email_verified, phone_verified, attributes, password_hash,
version, created_at, updated_at, last_login_at, email_skel, username_skel, email_verified_upstream`

const userInsertArity = 24

func userArgs(u *store.User) []any {
	return []any{
		string(u.Tenant), u.ID, u.Email, u.EmailNorm, nullString(u.Username), nullString(u.UsernameNorm),
		u.GivenName, strings.ToLower(u.GivenName), u.FamilyName, strings.ToLower(u.FamilyName),
		u.Phone, u.Locale, string(u.Status), u.EmailVerified, u.PhoneVerified, string(u.Attributes), u.PasswordHash,
		u.Version, u.CreatedAt.UnixMicro(), u.UpdatedAt.UnixMicro(), nullMicros(u.LastLoginAt),
		ident.Skeleton(u.Email), usernameSkel(u.Username), u.EmailVerifiedUpstream,
	}
}

// usernameSkel is the username_skel column: NULL for no username.
func usernameSkel(username string) any {
	if username == "" {
		return nil
	}
	return ident.Skeleton(username)
}

func scanUser(r interface{ Scan(...any) error }) (*store.User, error) {
	var (
		u                      store.User
		tenant, status, attrs  string
		username, usernameNorm sql.NullString
		created, updated       int64
		lastLogin              sql.NullInt64
	)
	err := r.Scan(&tenant, &u.ID, &u.Email, &u.EmailNorm, &username, &usernameNorm, &u.GivenName, &u.FamilyName,
		&u.Phone, &u.Locale, &status, &u.EmailVerified, &u.PhoneVerified, &attrs, &u.PasswordHash, &u.Version,
		&created, &updated, &lastLogin, &u.EmailVerifiedUpstream)
	if err != nil {
		return nil, err
	}
	u.Tenant, u.Status = store.TenantID(tenant), store.UserStatus(status)
	u.Username, u.UsernameNorm = username.String, usernameNorm.String
	u.Attributes = json.RawMessage(attrs)
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = fromMicros(created), fromMicros(updated), timePtr(lastLogin)
	return &u, nil
}

// validUser checks what the schema cannot express the same way on both
// backends. Normalising email and username is the caller's job (the
// directory service); the store only insists the lookup keys are there.
func validUser(u *store.User) error {
	switch {
	case u.ID == "" || u.Tenant == "":
		return errors.New("sqlstore: user needs an id and a tenant")
	case u.EmailNorm == "":
		return errors.New("sqlstore: user needs a normalised email")
	case (u.Username == "") != (u.UsernameNorm == ""):
		return errors.New("sqlstore: username and its normalised form must be set together")
	case !u.Status.Valid():
		return fmt.Errorf("sqlstore: unknown user status %q", u.Status)
	}
	return validObject(u.Attributes, "user attributes")
}

// validObject accepts an empty value (stored as {}) or a JSON object.
func validObject(raw json.RawMessage, what string) error {
	if len(raw) == 0 {
		return nil
	}
	if !json.Valid(raw) || !strings.HasPrefix(strings.TrimLeft(string(raw), " \t\r\n"), "{") {
		return fmt.Errorf("sqlstore: %s must be a JSON object", what)
	}
	return nil
}

// newUser returns the row to insert for u: defaults filled (status active,
// attributes {}, version 1, times now unless given, as imports do) and
// times at stored precision.
func (r userRepo) newUser(u *store.User) (store.User, error) {
	n := *u
	if n.Status == "" {
		n.Status = store.UserActive
	}
	if err := validUser(&n); err != nil {
		return n, err
	}
	n.Attributes = json.RawMessage(jsonOr(n.Attributes, "{}"))
	n.Version = 1
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt = micro(n.CreatedAt)
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = n.CreatedAt
	}
	n.UpdatedAt = micro(n.UpdatedAt)
	n.LastLoginAt = microPtr(n.LastLoginAt)
	return n, nil
}

// CreateUser inserts u and fills in the defaults it stored.
func (r userRepo) CreateUser(ctx context.Context, u *store.User) error {
	n, err := r.newUser(u)
	if err != nil {
		return err
	}
	err = r.single(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO users (`+userInsertCols+`) VALUES (`+placeholders(0, userInsertArity)+`)`, userArgs(&n)...); err != nil {
			return wrapErr("create user", err)
		}
		return writeEmails(ctx, q, &n, false)
	})
	if err != nil {
		return err
	}
	*u = n
	return nil
}

// pgInsertBatch is how many users one PostgreSQL INSERT carries: 200 × 23
// = 4,600 parameters, well under the limit of 65,535, and 1/200th of the
// round trips.
const pgInsertBatch = 200

// InsertUsers inserts users into tenant in one transaction. A user's
// Tenant must be empty or tenant. users is not modified.
func (r userRepo) InsertUsers(ctx context.Context, tenant store.TenantID, users []store.User) error {
	rows := make([]store.User, len(users))
	for i := range users {
		if users[i].Tenant != "" && users[i].Tenant != tenant {
			return fmt.Errorf("sqlstore: insert users: user %d belongs to tenant %q, not %q", i, users[i].Tenant, tenant)
		}
		u := users[i]
		u.Tenant = tenant
		n, err := r.newUser(&u)
		if err != nil {
			return fmt.Errorf("insert users: user %d: %w", i, err)
		}
		rows[i] = n
	}
	pg := r.db.d.postgres
	return r.write(ctx, func(q querier) error {
		var err error
		if pg {
			err = insertUsersMultiRow(ctx, q, rows)
		} else {
			err = insertUsersPrepared(ctx, q, rows)
		}
		if err != nil {
			return err
		}
		return insertEmailsBulk(ctx, q, rows, pg)
	})
}

// insertUsersMultiRow sends many rows per statement: on PostgreSQL the
// round trip, not the insert, is the cost.
func insertUsersMultiRow(ctx context.Context, q querier, rows []store.User) error {
	for start := 0; start < len(rows); start += pgInsertBatch {
		chunk := rows[start:min(start+pgInsertBatch, len(rows))]
		var sb strings.Builder
		args := make([]any, 0, len(chunk)*userInsertArity)
		sb.WriteString(`INSERT INTO users (` + userInsertCols + `) VALUES `)
		for i := range chunk {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(" + placeholders(len(args), userInsertArity) + ")")
			args = append(args, userArgs(&chunk[i])...)
		}
		if _, err := q.ExecContext(ctx, sb.String(), args...); err != nil {
			return wrapErr("insert users", err)
		}
	}
	return nil
}

// insertUsersPrepared runs one prepared single-row INSERT per user: SQLite
// has no round trip to save, and it resolves $N parameters by a linear
// search, so a statement with thousands of them is quadratic (a 200-row
// INSERT made seeding 100,000 users take 25 s instead of about 2).
func insertUsersPrepared(ctx context.Context, q querier, rows []store.User) error {
	stmt, err := q.PrepareContext(ctx, `INSERT INTO users (`+userInsertCols+`) VALUES (`+placeholders(0, userInsertArity)+`)`)
	if err != nil {
		return wrapErr("insert users", err)
	}
	defer stmt.Close()
	for i := range rows {
		if _, err := stmt.ExecContext(ctx, userArgs(&rows[i])...); err != nil {
			return wrapErr("insert users", err)
		}
	}
	return nil
}

// placeholders answers "$from+1, ..., $from+n".
func placeholders(from, n int) string {
	var sb strings.Builder
	for i := range n {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("$" + strconv.Itoa(from+i+1))
	}
	return sb.String()
}

func (r userRepo) getBy(ctx context.Context, q querier, op, col, lock string, tenant store.TenantID, v string) (*store.User, error) {
	// col is one of three constants below, never input.
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.tenant_id = $1 AND u.`+col+` = $2`+lock, string(tenant), v))
	return u, wrapErr(op, err)
}

func (r userRepo) GetUser(ctx context.Context, tenant store.TenantID, id string) (*store.User, error) {
	return r.getBy(ctx, r.q, "get user", "id", "", tenant, id)
}

// GetUserCached reads through the user cache (cache.go) outside a
// transaction; inside one it is GetUser.
func (r userRepo) GetUserCached(ctx context.Context, tenant store.TenantID, id string) (*store.User, error) {
	if r.tx != nil {
		return r.GetUser(ctx, tenant, id)
	}
	k := recordKey{tenant, id}
	u, ok, gen := r.db.users.get(k)
	if ok {
		return u, nil
	}
	u, err := r.GetUser(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	r.db.users.put(k, u, gen)
	return r.db.users.clone(u), nil // as cached: without the hash
}

func (r userRepo) GetUserByEmail(ctx context.Context, tenant store.TenantID, emailNorm string) (*store.User, error) {
	return r.getBy(ctx, r.q, "get user by email", "email_norm", "", tenant, emailNorm)
}

func (r userRepo) GetUserByUsername(ctx context.Context, tenant store.TenantID, usernameNorm string) (*store.User, error) {
	if usernameNorm == "" { // "" is stored as NULL, which matches nothing anyway
		return nil, notFound("get user by username")
	}
	return r.getBy(ctx, r.q, "get user by username", "username_norm", "", tenant, usernameNorm)
}

// GetUserBySkeleton answers a user of tenant other than exceptID whose
// email or username skeleton is skel: one indexed lookup per column (an
// OR of both makes the planners scan the tenant).
func (r userRepo) GetUserBySkeleton(ctx context.Context, tenant store.TenantID, skel, exceptID string) (*store.User, error) {
	for _, col := range []string{"email_skel", "username_skel"} { // constants, never input
		u, err := scanUser(r.q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u
WHERE u.tenant_id = $1 AND u.`+col+` = $2 AND u.id <> $3 LIMIT 1`, string(tenant), skel, exceptID))
		if !errors.Is(err, sql.ErrNoRows) {
			return u, wrapErr("get user by skeleton", err)
		}
	}
	return nil, notFound("get user by skeleton")
}

// UpdateUser is the read-modify-write of doc.go: the row is read and held
// (FOR UPDATE on PostgreSQL, the immediate transaction's write lock on
// SQLite), fn edits a copy, and the copy is written with Version+1.
func (r userRepo) UpdateUser(ctx context.Context, tenant store.TenantID, id string, fn func(*store.User) error) (*store.User, error) {
	var out *store.User
	err := r.write(ctx, func(q querier) error {
		old, err := r.getBy(ctx, q, "update user", "id", r.forUpdate(), tenant, id)
		if err != nil {
			return err
		}
		n := *old
		n.Attributes = cloneBytes(old.Attributes)
		if old.LastLoginAt != nil {
			t := *old.LastLoginAt
			n.LastLoginAt = &t
		}
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID || n.Tenant != old.Tenant {
			return errors.New("sqlstore: update user: the closure changed the id or tenant")
		}
		if err := validUser(&n); err != nil {
			return err
		}
		n.Attributes = json.RawMessage(jsonOr(n.Attributes, "{}"))
		n.Version, n.CreatedAt, n.UpdatedAt = old.Version+1, old.CreatedAt, r.db.nowMicro()
		n.LastLoginAt = microPtr(n.LastLoginAt)
		res, err := q.ExecContext(ctx, `UPDATE users SET email = $1, email_norm = $2, username = $3, username_norm = $4,
given_name = $5, given_name_lc = $6, family_name = $7, family_name_lc = $8, phone = $9, locale = $10, status = $11,
email_verified = $12, phone_verified = $13, attributes = $14, password_hash = $15, version = $16, updated_at = $17,
last_login_at = $18, email_skel = $22, username_skel = $23, email_verified_upstream = $24
WHERE tenant_id = $19 AND id = $20 AND version = $21`,
			n.Email, n.EmailNorm, nullString(n.Username), nullString(n.UsernameNorm),
			n.GivenName, strings.ToLower(n.GivenName), n.FamilyName, strings.ToLower(n.FamilyName), n.Phone, n.Locale, string(n.Status),
			n.EmailVerified, n.PhoneVerified, string(n.Attributes), n.PasswordHash, n.Version, n.UpdatedAt.UnixMicro(),
			nullMicros(n.LastLoginAt),
			string(n.Tenant), n.ID, old.Version, ident.Skeleton(n.Email), usernameSkel(n.Username), n.EmailVerifiedUpstream)
		if err != nil {
			return wrapErr("update user", err)
		}
		if err := guardRow(res, "update user"); err != nil {
			return err
		}
		if n.EmailNorm != old.EmailNorm || string(n.Attributes) != string(old.Attributes) {
			if err := writeEmails(ctx, q, &n, true); err != nil {
				return err
			}
		}
		out = &n
		return r.notify(ctx, q, userChange(tenant, id))
	})
	if err != nil {
		return nil, err
	}
	r.committed(userChange(tenant, id))
	return out, nil
}

// userChange names a user's change for the caches (changes.go).
func userChange(tenant store.TenantID, id string) store.Change {
	return store.Change{Kind: store.ChangeUser, Tenant: tenant, ID: id}
}

// DeleteUser deletes the user; its memberships go by cascade.
func (r userRepo) RecordLogin(ctx context.Context, tenant store.TenantID, id string, at time.Time, oldHash, newHash string) error {
	res, err := r.q.ExecContext(ctx, `UPDATE users SET last_login_at = $3,
  password_hash = CASE WHEN CAST($4 AS TEXT) <> '' AND password_hash = $5 THEN $4 ELSE password_hash END
WHERE tenant_id = $1 AND id = $2`, string(tenant), id, micro(at).UnixMicro(), newHash, oldHash)
	if err != nil {
		return wrapErr("record login", err)
	}
	return oneRow(res, "record login")
}

func (r userRepo) DeleteUser(ctx context.Context, tenant store.TenantID, id string) error {
	err := r.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM users WHERE tenant_id = $1 AND id = $2`, string(tenant), id)
		if err != nil {
			return wrapErr("delete user", err)
		}
		if err := oneRow(res, "delete user"); err != nil {
			return err
		}
		return r.notify(ctx, q, userChange(tenant, id))
	})
	if err == nil {
		r.committed(userChange(tenant, id))
	}
	return err
}

func (r userRepo) CountUsers(ctx context.Context, tenant store.TenantID) (int64, error) {
	var n int64
	err := r.q.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE tenant_id = $1`, string(tenant)).Scan(&n)
	return n, wrapErr("count users", err)
}
