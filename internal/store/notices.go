package store

import (
	"context"
	"time"
)

// NoticePrefs holds each user's choice to mute the notices that are not
// about security (a security notice is always sent).
type NoticePrefs interface {
	// SetNoticesMuted records whether the user mutes non-security notices
	// and announcement mails. ErrNotFound when the user does not exist.
	SetNoticesMuted(ctx context.Context, tenant TenantID, userID string, muted bool) error
	// NoticesMuted reports the user's choice (false when never set).
	NoticesMuted(ctx context.Context, tenant TenantID, userID string) (bool, error)
	// LastNudge answers when the user was last offered passkey
	// enrolment (nil: never); MarkNudged records an offer at at.
	LastNudge(ctx context.Context, tenant TenantID, userID string) (*time.Time, error)
	MarkNudged(ctx context.Context, tenant TenantID, userID string, at time.Time) error
	// NudgeUptake records that a user who was offered passkey enrolment
	// enrolled one (nothing when never offered, or recorded already).
	NudgeUptake(ctx context.Context, tenant TenantID, userID string, at time.Time) error
	// Adoption counts the tenant's second-factor and passkey adoption.
	Adoption(ctx context.Context, tenant TenantID) (Adoption, error)
}

// Adoption is a tenant's MFA and passkey adoption: active users, those
// with a confirmed second factor of any kind and with a passkey, and the
// passkey offers made after password logins and taken up.
type Adoption struct {
	Users          int `json:"users"`
	MFAUsers       int `json:"mfa_users"`
	PasskeyUsers   int `json:"passkey_users"`
	NudgesShown    int `json:"passkey_nudges_shown"`
	NudgesEnrolled int `json:"passkey_nudges_enrolled"`
}

// Announcement is a tenant's message to an audience: shown on the hosted
// login and account pages and mailed, per Channels. Title and Body map a
// language to its text. An empty audience (no groups, no roles) is
// everyone.
type Announcement struct {
	Tenant    TenantID
	ID        string
	Title     map[string]string
	Body      map[string]string
	Groups    []string // group names
	Roles     []string // role names
	Channels  []string
	StartsAt  *time.Time
	EndsAt    *time.Time
	CreatedAt time.Time
}

// Recipient is one member of an announcement's audience.
type Recipient struct {
	UserID, Email, Locale string
}

// Delivery records what was done for one recipient of an announcement's
// mail: MailID names the queued mail, "" when the recipient was skipped
// (muted).
type Delivery struct {
	UserID string
	MailID string
}

// DeliveryCounts are the states of an announcement's mails: Skipped
// recipients muted announcements; Purged mails were finished and removed
// from the queue by the weekly purge.
type DeliveryCounts struct {
	Recipients int `json:"recipients"`
	Skipped    int `json:"skipped"`
	Pending    int `json:"pending"`
	Sent       int `json:"sent"`
	Failed     int `json:"failed"`
	Purged     int `json:"purged"`
}

// Announcements stores announcements and their mail deliveries.
type Announcements interface {
	// CreateAnnouncement inserts a. ErrNotFound when the tenant does not
	// exist, ErrConflict when the id is taken.
	CreateAnnouncement(ctx context.Context, a *Announcement) error
	// GetAnnouncement answers one; ErrNotFound when unknown.
	GetAnnouncement(ctx context.Context, tenant TenantID, id string) (*Announcement, error)
	// ListAnnouncements answers the tenant's announcements, newest first.
	ListAnnouncements(ctx context.Context, tenant TenantID) ([]Announcement, error)
	// DeleteAnnouncement removes one with its deliveries (queued mails
	// stay queued). ErrNotFound when unknown.
	DeleteAnnouncement(ctx context.Context, tenant TenantID, id string) error
	// Audience answers the active users in any of groups (their members
	// and members of groups nested in them) or holding any of roles
	// (assigned directly or through such a group; privileged roles, active
	// only during an elevation, do not count), by id, after the id after
	// (keyset paging), at most limit. With no groups and no roles it
	// answers every active user.
	Audience(ctx context.Context, tenant TenantID, groups, roles []string, after string, limit int) ([]Recipient, error)
	// InAudience reports whether the active user userID is in the
	// audience, by the rule of Audience.
	InAudience(ctx context.Context, tenant TenantID, groups, roles []string, userID string) (bool, error)
	// AddDeliveries records deliveries of announcement id; a recipient
	// recorded already is an ErrConflict (an announcement mails each user
	// once).
	AddDeliveries(ctx context.Context, tenant TenantID, id string, ds []Delivery) error
	// CountDeliveries answers the states of the announcement's mails.
	CountDeliveries(ctx context.Context, tenant TenantID, id string) (DeliveryCounts, error)
}
