package server

import (
	"context"
	"path/filepath"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
)

// wireSelfService builds the mail queue and the self-service flows.
func (a *App) wireSelfService(hasher *credential.Hasher, renderer *mail.Renderer) {
	a.SelfService = &selfservice.Service{
		Store: a.DB, Directory: a.Directory, Hasher: hasher, Sessions: a.Sessions, Queue: a.Mail,
		Renderer: renderer, Notices: a.Notices,
		Audit: a.Audit, Log: a.Log, Now: time.Now, PublicURL: a.Config.PublicURL,
	}
}

// MailSender is SMTP when GATEHOUSE_SMTP_HOST is set, else files under
// {data_dir}/mail/ with their links logged.
func (a *App) MailSender() mail.Sender {
	c := a.Config.SMTP
	if c.Host == "" {
		return &mail.FileSender{Dir: filepath.Join(a.Config.DataDir, "mail"), From: c.From, Log: a.Log}
	}
	return &mail.SMTP{Host: c.Host, Port: c.Port, Username: c.Username, Password: string(c.Password),
		From: c.From, TLS: c.TLS}
}

// MailWorker delivers the queue (every node runs one; leases keep them
// from sending a mail twice).
func (a *App) MailWorker() *mail.Worker {
	return &mail.Worker{Store: a.DB, Sealer: a.sealer, Sender: a.MailSender(), Log: a.Log, Kick: a.mailKick}
}

// sweepSelfService removes spent and expired one-time tokens and mails
// finished more than a week ago (part of the hourly upkeep).
func (a *App) sweepSelfService(ctx context.Context) {
	now := time.Now()
	if n, err := a.DB.SelfService().OneTimeTokens().DeleteExpiredTokens(ctx, now); err != nil && ctx.Err() == nil {
		a.Log.Warn("deleting expired one-time tokens", "err", err)
	} else if n > 0 {
		a.Log.Info("deleted expired one-time tokens", "rows", n)
	}
	if n, err := a.DB.SelfService().MailQueue().PurgeMail(ctx, now.Add(-7*24*time.Hour)); err != nil && ctx.Err() == nil {
		a.Log.Warn("purging sent mails", "err", err)
	} else if n > 0 {
		a.Log.Info("purged sent mails", "rows", n)
	}
}
