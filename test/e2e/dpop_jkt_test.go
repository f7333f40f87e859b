package e2e

import (
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// TestDPoPJKT: the dpop_jkt authorization request parameter (RFC 9449 10)
// binds the code to a key, at /authorize and through PAR: the token
// request must carry a proof by that key (without a proof, or with
// another key's, the code is refused); a malformed dpop_jkt is refused at
// the authorization endpoint.
func TestDPoPJKT(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			d := deploy(t, b)
			d.user(t, "default", adaEmail, adaPW)
			m := d.discover(t, "default")
			r := d.rp(t, "default", "--public")
			id := r.conf.ClientID
			k, other := newDPoPKey(t, jose.ES256), newDPoPKey(t, jose.ES256)
			bound := oauth2.SetAuthURLParam("dpop_jkt", k.jkt())

			g := r.code(adaEmail, adaPW, bound)
			wantErr(t, "bound code without a proof", dpopPost(t, m.Token, r.exchangeForm(g.code, g.verifier), id, ""), 400, "invalid_dpop_proof")
			g = r.code(adaEmail, adaPW, bound)
			wantErr(t, "bound code with another key's proof", dpopPost(t, m.Token, r.exchangeForm(g.code, g.verifier), id, "",
				other.proof("POST", m.Token, "", proofOpts{})), 400, "invalid_dpop_proof")
			g = r.code(adaEmail, adaPW, bound)
			res := dpopPost(t, m.Token, r.exchangeForm(g.code, g.verifier), id, "", k.proof("POST", m.Token, "", proofOpts{}))
			if res.Status != 200 || cnfOf(t, res.str("access_token")) != k.jkt() {
				t.Fatalf("bound code with the key's proof: %d %s", res.Status, res.Raw)
			}
			// Unbound codes are unaffected.
			g = r.code(adaEmail, adaPW)
			if res := dpopPost(t, m.Token, r.exchangeForm(g.code, g.verifier), id, "", other.proof("POST", m.Token, "", proofOpts{})); res.Status != 200 {
				t.Errorf("unbound code with a proof: %d %s", res.Status, res.Raw)
			}

			// A malformed dpop_jkt: an error to the client, no code.
			for _, bad := range []string{"not-base64!", "AAAA"} {
				q := r.authorize(r.authURL("st-bad", func(q url.Values) { q.Set("dpop_jkt", bad) }), adaEmail, adaPW)
				if q.Get("error") != "invalid_request" || q.Get("code") != "" {
					t.Errorf("dpop_jkt %q: %v", bad, q)
				}
			}

			// Through PAR: pushed with dpop_jkt, the code is bound the same way.
			push := func() string {
				v := oauth2.GenerateVerifier()
				form := url.Values{"client_id": {id}, "response_type": {"code"}, "redirect_uri": {r.redirect},
					"scope": {"openid"}, "state": {"st-par"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(v)},
					"code_challenge_method": {"S256"}, "dpop_jkt": {k.jkt()}}
				pr := postForm(t, m.Issuer+"/par", form, "", "")
				if pr.Status != 201 {
					t.Fatalf("PAR: %d %s", pr.Status, pr.Raw)
				}
				q := r.authorize(m.Authorization+"?client_id="+url.QueryEscape(id)+"&request_uri="+url.QueryEscape(pr.str("request_uri")), adaEmail, adaPW)
				if q.Get("code") == "" {
					t.Fatalf("PAR authorization: %v", q)
				}
				return q.Get("code") + " " + v
			}
			code, verifier, _ := strings.Cut(push(), " ")
			wantErr(t, "pushed bound code with another key", dpopPost(t, m.Token, r.exchangeForm(code, verifier), id, "",
				other.proof("POST", m.Token, "", proofOpts{})), 400, "invalid_dpop_proof")
			code, verifier, _ = strings.Cut(push(), " ")
			if res := dpopPost(t, m.Token, r.exchangeForm(code, verifier), id, "", k.proof("POST", m.Token, "", proofOpts{})); res.Status != 200 {
				t.Errorf("pushed bound code with the key: %d %s", res.Status, res.Raw)
			}
		})
	}
}
