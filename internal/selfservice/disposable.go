package selfservice

// disposable is a small bundled list of well-known throwaway mail domains,
// used when a tenant sets block_disposable; tenants add their own with
// blocked_domains.
var disposable = map[string]bool{
	"mailinator.com": true, "guerrillamail.com": true, "guerrillamail.net": true, "sharklasers.com": true,
	"10minutemail.com": true, "10minutemail.net": true, "temp-mail.org": true, "tempmail.com": true,
	"yopmail.com": true, "yopmail.net": true, "trashmail.com": true, "trashmail.de": true,
	"dispostable.com": true, "getnada.com": true, "maildrop.cc": true, "mailnesia.com": true,
	"throwawaymail.com": true, "fakeinbox.com": true, "mintemail.com": true, "mohmal.com": true,
	"emailondeck.com": true, "spamgourmet.com": true, "mailcatch.com": true, "tempr.email": true,
	"discard.email": true, "burnermail.io": true, "33mail.com": true, "spambox.us": true,
	"tempinbox.com": true, "mytemp.email": true, "tmpmail.org": true, "tmail.ws": true,
}
