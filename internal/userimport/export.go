package userimport

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ExportColumns is the header of an exported CSV: the import CSV's
// columns, so an export imports again as it is.
var ExportColumns = []string{"external_id", "email", "email_verified", "username", "given_name", "family_name",
	"phone", "password_hash", "groups", "roles", "created_at", "last_login_at"}

// Exporter writes a tenant's users in an importable format.
type Exporter struct {
	Store store.Store
	Audit *events.Recorder
}

// Export writes every user of tenant to w as "jsonl" or "csv". Password
// hashes go out only with includeHashes; TOTP seeds never do. A user's
// external_id is the one it was imported with, else its id here. The
// export is audited (with whether hashes went out) before anything is
// written. It answers the number of users written.
func (e *Exporter) Export(ctx context.Context, actor events.Actor, tenant store.TenantID, format string, includeHashes bool, out io.Writer) (int64, error) {
	if format != "jsonl" && format != "csv" {
		return 0, fmt.Errorf("export format is jsonl or csv, not %q", format)
	}
	if e.Audit != nil {
		if err := e.Audit.Record(ctx, e.Store, actor, events.Entry{Tenant: tenant, Action: "users.export",
			TargetType: "tenant", TargetID: string(tenant), Changes: events.Changes{
				"format": {After: format}, "include_hashes": {After: includeHashes}}}); err != nil {
			return 0, err
		}
	}
	bw := bufio.NewWriterSize(out, 1<<16)
	var cw *csv.Writer
	if format == "csv" {
		cw = csv.NewWriter(bw)
		if err := cw.Write(ExportColumns); err != nil {
			return 0, err
		}
	}
	roleNames := map[string]string{}
	connNames := map[string]string{}
	var n int64
	page := store.Page{Limit: 1000}
	for range 1 << 20 {
		users, err := e.Store.Users().SearchUsers(ctx, tenant, store.UserQuery{Page: page})
		if err != nil {
			return n, err
		}
		ids := make([]string, len(users))
		for i := range users {
			ids[i] = users[i].ID
		}
		exts, err := e.Store.Imports().UserExternalIDs(ctx, tenant, ids)
		if err != nil {
			return n, err
		}
		for i := range users {
			j, err := e.record(ctx, tenant, &users[i], exts[users[i].ID], includeHashes, roleNames, connNames)
			if err != nil {
				return n, err
			}
			if cw != nil {
				err = cw.Write([]string{j.ExternalID, j.Email, strconv.FormatBool(j.EmailVerified), j.Username,
					j.GivenName, j.FamilyName, j.Phone, j.PasswordHash, strings.Join(j.Groups, ";"),
					strings.Join(j.Roles, ";"), j.CreatedAt, j.LastLoginAt})
			} else {
				var line []byte
				if line, err = json.Marshal(j); err == nil {
					_, err = bw.Write(append(line, '\n'))
				}
			}
			if err != nil {
				return n, err
			}
			n++
		}
		if len(users) < page.Limit {
			break
		}
		page.After = users[len(users)-1].ID
	}
	if cw != nil {
		if cw.Flush(); cw.Error() != nil {
			return n, cw.Error()
		}
	}
	return n, bw.Flush()
}

// record gathers one user's groups, roles and linked identities.
func (e *Exporter) record(ctx context.Context, tenant store.TenantID, u *store.User, ext string, hashes bool, roleNames, connNames map[string]string) (ourJSON, error) {
	j := ourJSON{ExternalID: ext, Email: u.Email, EmailVerified: u.EmailVerified, Username: u.Username,
		GivenName: u.GivenName, FamilyName: u.FamilyName, Phone: u.Phone,
		CreatedAt: u.CreatedAt.UTC().Format(time.RFC3339Nano), Disabled: u.Status != store.UserActive}
	if j.ExternalID == "" {
		j.ExternalID = u.ID
	}
	if hashes {
		j.PasswordHash = u.PasswordHash
	}
	if u.LastLoginAt != nil {
		j.LastLoginAt = u.LastLoginAt.UTC().Format(time.RFC3339Nano)
	}
	if len(u.Attributes) > 2 {
		if err := json.Unmarshal(u.Attributes, &j.Attributes); err != nil {
			return j, err
		}
	}
	groups, err := e.Store.Groups().UserGroups(ctx, tenant, u.ID, false)
	if err != nil {
		return j, err
	}
	for _, g := range groups {
		j.Groups = append(j.Groups, g.Name)
	}
	as, err := e.Store.Authz().Roles().ListAssignments(ctx, tenant, store.AssignmentQuery{UserID: u.ID, Page: store.Page{Limit: 1000}})
	if err != nil {
		return j, err
	}
	for _, a := range as {
		name, ok := roleNames[a.RoleID]
		if !ok {
			r, err := e.Store.Authz().Roles().GetRole(ctx, tenant, a.RoleID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return j, err
			}
			if r != nil {
				name = r.Name
			}
			roleNames[a.RoleID] = name
		}
		if name != "" {
			j.Roles = append(j.Roles, name)
		}
	}
	ids, err := e.Store.Connections().Identities().ListUserIdentities(ctx, tenant, u.ID)
	if err != nil {
		return j, err
	}
	for _, id := range ids {
		name, ok := connNames[id.ConnectionID]
		if !ok {
			c, err := e.Store.Connections().Connections().GetConnection(ctx, tenant, id.ConnectionID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return j, err
			}
			if c != nil {
				name = c.Name
			}
			connNames[id.ConnectionID] = name
		}
		if name != "" {
			j.Identities = append(j.Identities, Identity{Connection: name, Subject: id.Subject, Email: id.Email})
		}
	}
	return j, nil
}
