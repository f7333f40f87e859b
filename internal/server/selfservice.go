package server

import (
	"path/filepath"

	"github.com/gatehouse-id/gatehouse/internal/mail"
)

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
