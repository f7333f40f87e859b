package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
)

// layer is a set of packages and the layers they may import.
type layer struct {
	name string
	// dirs are package directories relative to the repo root; a dir
	// ending in "/..." also holds every package below it.
	dirs []string
	// may names the layers whose packages this one may import (its own
	// included only when listed).
	may []string
}

// layers is the shape of DESIGN.md. Every package is in exactly one; a
// new package must be added here before its test passes.
var layers = []layer{
	{name: "cmd", dirs: []string{"cmd/...", "internal/server"},
		may: []string{"cmd", "surfaces", "flow", "services", "store", "sqlstore", "leaves", "base"}},
	{name: "surfaces", dirs: []string{"internal/api", "internal/oidc", "internal/saml", "internal/scim",
		"internal/ldap", "internal/web", "internal/ui", "internal/broker", "internal/httpx", "internal/legacy", "internal/forwardauth", "internal/ratelimit",
		"internal/natsink", "internal/ssf", "internal/consoleassets", "internal/webhook/post", "internal/provision/scimclient", "internal/hookhttp", "internal/console",
		"internal/domain", "internal/tlsserve", "internal/region"},
		may: []string{"surfaces", "flow", "services", "store", "leaves", "base"}},
	{name: "flow", dirs: []string{"internal/flow", "internal/account", "internal/selfservice", "internal/configcode", "internal/setup"},
		may: []string{"flow", "services", "store", "leaves", "base"}},
	{name: "services", dirs: []string{"internal/authz", "internal/connection", "internal/directory",
		"internal/events", "internal/keys", "internal/mail", "internal/mfa", "internal/notice", "internal/oauthclient",
		"internal/samlreg", "internal/session", "internal/tenancy", "internal/proxyapp", "internal/userimport",
		"internal/privacy", "internal/webhook", "internal/provision", "internal/hooks", "internal/consent", "internal/risk",
		"internal/dashboard", "internal/replay"},
		may: []string{"services", "store", "leaves", "base"}},
	{name: "store", dirs: []string{"internal/store", "internal/store/scimfilter", "internal/store/storetest", "internal/store/replica"},
		may: []string{"store", "base"}},
	// sqlstore is the one home of SQL: only the composition root, the
	// CLI, benchmarks and tests open it; everything else sees the
	// interfaces of internal/store.
	{name: "sqlstore", dirs: []string{"internal/store/sqlstore/..."},
		may: []string{"store", "sqlstore", "base"}},
	{name: "leaves", dirs: []string{"internal/branding", "internal/config", "internal/credential", "internal/credential/argon2",
		"internal/i18n", "internal/metrics", "internal/poll", "internal/profileschema", "internal/safehttp", "internal/seal", "internal/valid", "internal/whsig",
		"internal/clientsnippet", "internal/memo",
		"internal/xmlguard", "internal/tracing/tracehttp"},
		may: []string{"leaves", "base"}},
	// base is pure text functions (identifier normalisation and
	// skeletons) that every layer may use, the store included to derive
	// its lookup columns; it imports nothing of Gatehouse. The tracer
	// holder is here too, so the store and the hasher can open spans.
	{name: "base", dirs: []string{"internal/ident", "internal/tracing"}},
	{name: "bench", dirs: []string{"bench/..."},
		may: []string{"bench", "services", "store", "sqlstore", "leaves", "base"}},
	{name: "test", dirs: []string{"test/...", "internal/archtest", "internal/ratelimit/redistest", "internal/natsink/natstest", "internal/risk/risktest"},
		may: []string{"test", "cmd", "surfaces", "flow", "services", "store", "sqlstore", "leaves", "base"}},
}

// noHTTP are the layers that know nothing of HTTP, not even through the
// packages they import.
var noHTTP = []string{"flow", "services", "store", "sqlstore", "base"}

// httpAllowed are third-party packages that bring net/http in for their
// own protocol helpers, which our services do not call: go-webauthn's
// protocol package parses ceremony requests from an *http.Request, mfa
// hands it the request body's bytes.
var httpAllowed = []string{"github.com/go-webauthn/webauthn/"}

func (l layer) holds(dir string) bool {
	for _, d := range l.dirs {
		if base, ok := strings.CutSuffix(d, "/..."); ok {
			if dir == base || strings.HasPrefix(dir, base+"/") {
				return true
			}
		} else if dir == d {
			return true
		}
	}
	return false
}

// layerOf answers the layers holding dir (one, when the table is right).
func layerOf(dir string) []layer {
	var out []layer
	for _, l := range layers {
		if l.holds(dir) {
			out = append(out, l)
		}
	}
	return out
}

// TestEveryPackageHasALayer: a package in no layer, or in two, fails.
func TestEveryPackageHasALayer(t *testing.T) {
	for _, p := range loadPackages(t) {
		if ls := layerOf(p.dir); len(ls) != 1 {
			t.Errorf("%s is in %d layers; put it in exactly one (internal/archtest/layers_test.go)", p.dir, len(ls))
		}
	}
}

// TestLayerEdges: every import of ours goes along an allowed edge.
func TestLayerEdges(t *testing.T) {
	for _, p := range loadPackages(t) {
		from := layerOf(p.dir)
		if len(from) != 1 {
			continue // TestEveryPackageHasALayer reports it
		}
		for im := range p.imports {
			dir, ok := strings.CutPrefix(im, module)
			if !ok {
				continue
			}
			to := layerOf(dir)
			if len(to) == 1 && !slices.Contains(from[0].may, to[0].name) {
				t.Errorf("%s (%s) imports %s (%s): not an allowed edge", p.dir, from[0].name, dir, to[0].name)
			}
		}
	}
}

// TestNoHTTPBelowSurfaces: no package of the flow, services, store or base
// layers (sqlstore included) reaches net/http, directly or through anything it imports,
// except through the libraries of httpAllowed.
func TestNoHTTPBelowSurfaces(t *testing.T) {
	graph := importGraph(t)
	var checked int
	for pkg := range graph {
		dir, ok := strings.CutPrefix(pkg, module)
		if !ok {
			continue
		}
		ls := layerOf(dir)
		if len(ls) != 1 || !slices.Contains(noHTTP, ls[0].name) {
			continue
		}
		checked++
		if chain := pathTo(graph, pkg, "net/http"); chain != nil {
			t.Errorf("%s (%s) reaches net/http: %s", dir, ls[0].name, strings.Join(chain, " -> "))
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d packages: the graph is broken", checked)
	}
}

// importGraph answers every package the module's packages depend on, the
// standard library included, with its imports (go list -deps).
func importGraph(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps",
		"-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	graph := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			graph[f[0]] = f[1:]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return graph
}

// pathTo answers the shortest import chain from from to target that does
// not pass through an httpAllowed package, or nil.
func pathTo(graph map[string][]string, from, target string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		if x == target {
			var chain []string
			for ; x != ""; x = prev[x] {
				chain = append(chain, strings.TrimPrefix(x, module))
			}
			slices.Reverse(chain)
			return chain
		}
		next := slices.Clone(graph[x])
		sort.Strings(next)
		for _, y := range next {
			if _, seen := prev[y]; seen || allowedHTTP(y) {
				continue
			}
			prev[y] = x
			queue = append(queue, y)
		}
	}
	return nil
}

func allowedHTTP(pkg string) bool {
	for _, a := range httpAllowed {
		if strings.HasPrefix(pkg, a) {
			return true
		}
	}
	return false
}
