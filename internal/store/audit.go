package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"time"
)

// AuditEntry is one link of a tenant's tamper-evident audit chain.
type AuditEntry struct {
	Tenant     TenantID
	Seq        int64
	ID         string
	Time       time.Time
	ActorType  string // "apikey", "user", "cli", "system"
	ActorID    string
	Action     string // e.g. "user.create"
	TargetType string
	TargetID   string
	ClientIP   string
	RequestID  string
	// Changes is a JSON object {"field": {"before": x, "after": y}} without secrets.
	Changes  json.RawMessage
	PrevHash string // hex; "" for the first entry
	Hash     string // hex SHA-256 over PrevHash and every field above
}

// AuditChainHead is the newest link of a tenant's chain as recorded by
// the appends: how many entries there are and the newest one's hash. It
// lets a check notice entries removed from the end of the chain, which
// leave the rest linked correctly.
type AuditChainHead struct {
	Seq  int64
	Hash string
}

// ComputeHash returns the chain hash of e: SHA-256 over the previous hash and
// each field, length-prefixed so no two different entries encode alike.
// Time counts in microseconds, the precision every backend keeps.
func (e *AuditEntry) ComputeHash() string {
	h := sha256.New()
	var n [8]byte
	field := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field(e.PrevHash)
	field(string(e.Tenant))
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	field(e.ID)
	binary.BigEndian.PutUint64(n[:], uint64(e.Time.UnixMicro()))
	h.Write(n[:])
	for _, s := range []string{e.ActorType, e.ActorID, e.Action, e.TargetType, e.TargetID, e.ClientIP, e.RequestID, string(e.Changes)} {
		field(s)
	}
	return hex.EncodeToString(h.Sum(nil))
}
