package selfservice

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// SendNotice queues, through repos, a notice of kind (mail.KindEmailChanged,
// mail.KindPasswordChanged) about userID's account to the address to, in
// lang (the tenant's default when empty), and audits it: notice.Service.Send,
// the one mechanism of every notice. link carries a secret when it
// reverts a change: never log it.
func (s *Service) SendNotice(ctx context.Context, repos store.Repos, t *store.Tenant, userID, kind, to, lang, link string, ttl time.Duration) error {
	return s.Notices.Send(ctx, repos, t, userID, kind, to, lang, link, ttl)
}

// notifyPasswordChanged tells the user that their password was changed
// or reset, with a link to reset it. A failure is logged: the change
// itself is done.
func (s *Service) notifyPasswordChanged(ctx context.Context, t *store.Tenant, u *store.User) {
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		return s.SendNotice(ctx, tx, t, u.ID, mail.KindPasswordChanged, u.Email, u.Locale,
			s.PublicURL+"/t/"+t.Slug+"/password/forgot", 0)
	})
	if err != nil {
		s.Log.ErrorContext(ctx, "selfservice: password change notice", "tenant", t.Slug, "err", err)
	}
}
