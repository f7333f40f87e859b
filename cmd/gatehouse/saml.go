package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/safehttp"
	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// maxMetadata bounds a metadata file or download.
const maxMetadata = 256 << 10

// samlSPJSON is a service provider as the CLI prints it.
type samlSPJSON struct {
	ID                  string               `json:"id"`
	Name                string               `json:"name"`
	EntityID            string               `json:"entity_id"`
	ACS                 []store.SAMLEndpoint `json:"acs"`
	SLOURL              string               `json:"slo_url"`
	NameIDFormat        string               `json:"name_id_format"`
	AttributeMapping    map[string]string    `json:"attribute_mapping"`
	SignAssertion       bool                 `json:"sign_assertion"`
	SignResponse        bool                 `json:"sign_response"`
	EncryptAssertion    bool                 `json:"encrypt_assertion"`
	AuthnRequestsSigned bool                 `json:"authn_requests_signed"`
	CertificateSHA256   string               `json:"certificate_sha256"`
	DefaultRelayState   string               `json:"default_relay_state"`
	ConsentRequired     bool                 `json:"consent_required"`
	Version             int64                `json:"version"`
}

func samlSPView(sp *store.SAMLServiceProvider) samlSPJSON {
	return samlSPJSON{ID: sp.ID, Name: sp.Name, EntityID: sp.EntityID, ACS: sp.ACS, SLOURL: sp.SLOURL,
		NameIDFormat: sp.NameIDFormat, AttributeMapping: sp.AttributeMapping, SignAssertion: sp.SignAssertion,
		SignResponse: sp.SignResponse, EncryptAssertion: sp.EncryptAssertion, AuthnRequestsSigned: sp.RequestsSigned,
		CertificateSHA256: samlreg.CertFingerprint(sp.Certificate), DefaultRelayState: sp.DefaultRelayState,
		ConsentRequired: sp.ConsentRequired, Version: sp.Version}
}

func runSAML(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) < 2 || args[0] != "sp" {
		fmt.Fprintln(env.stderr, "Usage: gatehouse saml sp create|list|delete --tenant SLUG [flags]")
		return errUsage
	}
	fs, l := flagSet(env, "saml sp "+args[1])
	tenant := fs.String("tenant", "", "tenant slug or id")
	switch args[1] {
	case "create":
		var in samlreg.NewSP
		var acs, attrs listFlag
		metaFile := fs.String("metadata-file", "", "the service provider's SAML metadata (XML file)")
		metaURL := fs.String("metadata-url", "", "fetch the service provider's SAML metadata from this URL")
		certFile := fs.String("certificate-file", "", "the service provider's certificate (PEM)")
		fs.StringVar(&in.Name, "name", "", "display name")
		fs.StringVar(&in.EntityID, "entity-id", "", "the service provider's entity ID")
		fs.Var(&acs, "acs", "an assertion consumer service URL, HTTP-POST (repeat for more; the first is the default)")
		fs.StringVar(&in.SLOURL, "slo-url", "", "single logout URL")
		fs.StringVar(&in.SLOBinding, "slo-binding", "", "HTTP-Redirect (default) or HTTP-POST binding URN")
		fs.StringVar(&in.DefaultRelayState, "default-relay-state", "", "RelayState of IdP-initiated logins: an absolute https URL or a relative path")
		fs.StringVar(&in.NameIDFormat, "name-id-format", "", "emailAddress (default), persistent, transient or unspecified")
		fs.Var(&attrs, "attribute", "NAME=SOURCE attribute mapping (repeat); sources: "+strings.Join(samlreg.AttributeSources, ", ")+", attr:KEY")
		signAssertion := fs.Bool("sign-assertion", true, "sign the assertion")
		signResponse := fs.Bool("sign-response", true, "sign the response")
		fs.BoolVar(&in.EncryptAssertion, "encrypt-assertion", false, "encrypt assertions to the provider's certificate (AES-256-GCM, RSA-OAEP)")
		fs.BoolVar(&in.ConsentRequired, "consent-required", false, "ask users to approve the attributes released to the provider before the first assertion")
		requestsSigned := fs.Bool("authn-requests-signed", false, "require signed AuthnRequests (default: what the metadata says)")
		asJSON := fs.Bool("json", false, "print the service provider as JSON, on one line")
		return withApp(ctx, env, fs, l, args[2:], func(app *server.App) error {
			if fs.NArg() != 0 {
				return fmt.Errorf("unexpected argument %q", fs.Arg(0))
			}
			tn, err := tenantFlag(ctx, app, *tenant)
			if err != nil {
				return err
			}
			fs.Visit(func(f *flag.Flag) {
				switch f.Name {
				case "sign-assertion":
					in.SignAssertion = signAssertion
				case "sign-response":
					in.SignResponse = signResponse
				case "authn-requests-signed":
					in.RequestsSigned = requestsSigned
				}
			})
			if in.Metadata, err = readMetadata(ctx, metadataClient(app.Config.PublicURL), *metaFile, *metaURL); err != nil {
				return err
			}
			if *certFile != "" {
				b, err := readBounded(*certFile)
				if err != nil {
					return err
				}
				in.Certificate = string(b)
			}
			for i, a := range acs {
				in.ACS = append(in.ACS, store.SAMLEndpoint{Binding: samlreg.BindingPOST, Location: a, Index: i + 1, Default: i == 0})
			}
			for _, a := range attrs {
				name, src, ok := strings.Cut(a, "=")
				if !ok {
					return fmt.Errorf("--attribute %q: want NAME=SOURCE", a)
				}
				if in.AttributeMapping == nil {
					in.AttributeMapping = map[string]string{}
				}
				in.AttributeMapping[name] = src
			}
			sp, err := app.SAMLSPs.Create(ctx, cliActor(), tn, in)
			if err != nil {
				return err
			}
			if *asJSON {
				return json.NewEncoder(env.stdout).Encode(samlSPView(sp))
			}
			fmt.Fprintf(env.stdout, "id: %s\nentity_id: %s\n", sp.ID, sp.EntityID)
			return nil
		})
	case "list":
		asJSON := fs.Bool("json", false, "print JSON")
		return withApp(ctx, env, fs, l, args[2:], func(app *server.App) error {
			tn, err := tenantFlag(ctx, app, *tenant)
			if err != nil {
				return err
			}
			var all []store.SAMLServiceProvider
			for p := (store.Page{Limit: 1000}); ; {
				sps, err := app.SAMLSPs.List(ctx, tn, p)
				if err != nil {
					return err
				}
				all = append(all, sps...)
				if len(sps) < p.Limit {
					break
				}
				p.After = sps[len(sps)-1].ID
			}
			if *asJSON {
				out := make([]samlSPJSON, len(all))
				for i := range all {
					out[i] = samlSPView(&all[i])
				}
				return printJSON(env, out)
			}
			tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tENTITY_ID")
			for _, sp := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", sp.ID, sp.Name, sp.EntityID)
			}
			return tw.Flush()
		})
	case "delete":
		return withApp(ctx, env, fs, l, args[2:], func(app *server.App) error {
			if fs.NArg() != 1 {
				return fmt.Errorf("give the service provider id")
			}
			tn, err := tenantFlag(ctx, app, *tenant)
			if err != nil {
				return err
			}
			if err := app.SAMLSPs.Delete(ctx, cliActor(), tn, fs.Arg(0)); err != nil {
				return fmt.Errorf("service provider %s: %w", fs.Arg(0), err)
			}
			fmt.Fprintf(env.stdout, "deleted %s\n", fs.Arg(0))
			return nil
		})
	}
	fmt.Fprintf(env.stderr, "gatehouse saml sp: unknown subcommand %q\n", args[1])
	return errUsage
}

// metadataClient fetches --metadata-url through the outbound policy
// (internal/safehttp): no private or link-local addresses, loopback only
// on a development deployment (public URL on http://), at most 3 redirects.
func metadataClient(publicURL string) *http.Client {
	c := safehttp.Policy{AllowLoopback: strings.HasPrefix(publicURL, "http://")}.Client(0)
	c.CheckRedirect = func(_ *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		return nil
	}
	return c
}

// readMetadata reads the metadata file or downloads the URL (bounded in
// size and time); "" when neither is given.
func readMetadata(ctx context.Context, client *http.Client, file, u string) (string, error) {
	switch {
	case file != "" && u != "":
		return "", errors.New("give --metadata-file or --metadata-url, not both")
	case file != "":
		b, err := readBounded(file)
		return string(b), err
	case u != "":
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return "", fmt.Errorf("--metadata-url %q: not an http(s) URL", u)
		}
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return "", err
		}
		res, err := client.Do(req)
		if err != nil {
			return "", fmt.Errorf("metadata: %w", err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return "", fmt.Errorf("metadata: %s answered %s", u, res.Status)
		}
		b, err := io.ReadAll(io.LimitReader(res.Body, maxMetadata+1))
		if err != nil {
			return "", fmt.Errorf("metadata: %w", err)
		}
		if len(b) > maxMetadata {
			return "", fmt.Errorf("metadata: larger than %d bytes", maxMetadata)
		}
		return string(b), nil
	}
	return "", nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMetadata+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxMetadata {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxMetadata)
	}
	return b, nil
}
