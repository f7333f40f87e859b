package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// RecordDocument is Record for an entry whose changes are a document of
// its own rather than a field diff (an assessment: score, decision,
// reasons). doc is encoded as JSON as it is; e.Changes is ignored, and
// observers see e without changes.
func (r *Recorder) RecordDocument(ctx context.Context, repos store.Repos, actor Actor, e Entry, doc any) error {
	raw, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("audit: encode document: %w", err)
	}
	e.Changes = nil
	return r.record(ctx, repos, actor, e, raw)
}
