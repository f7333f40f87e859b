package configcode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Input bounds: a configuration is read whole into memory.
const (
	MaxFileBytes = 16 << 20
	maxFiles     = 1000
)

// Source is one configuration file's name (for problems) and content.
type Source struct {
	Name string
	Data []byte
}

// kind is one list of objects in a tenant.
type kind struct {
	list string // the tenant's key: clients, saml_sps, ...
	key  string // the field that matches an item to a live object
	noun string // the audit target type and the plan's kind
}

// kinds in the order they are created and updated (a role names a
// client, so clients come first); deletions run in the reverse order.
var kinds = []kind{
	{"clients", "name", "client"},
	{"saml_sps", "entity_id", "saml_sp"},
	{"connections", "name", "connection"},
	{"roles", "name", "role"},
	{"groups", "name", "group"},
}

// Config is a loaded configuration: what each tenant declares and where.
type Config struct {
	Tenants []*TenantDecl
}

// TenantDecl is one declared tenant.
type TenantDecl struct {
	Tenant
	at    pos
	lines map[string]int
	// settings are the settings keys the file gives, as plain JSON.
	settings map[string]any
	// objects are each managed kind's items (absent: not managed).
	objects map[string][]*Decl
}

// Decl is one declared object: its matching key, where it is, and the
// fields the file gives (as plain JSON values), so a field left out is
// never proposed as a change.
type Decl struct {
	Key    string
	at     pos
	lines  map[string]int
	fields map[string]any
}

// line answers where field is given, or where the object starts.
func (d *Decl) line(field string) pos {
	if l, ok := d.lines[field]; ok {
		return pos{file: d.at.file, line: l}
	}
	return d.at
}

// LoadPaths reads files and directories (their *.yaml, *.yml and *.json
// files, sorted, not recursing) and loads them as one configuration.
func LoadPaths(paths []string) (*Config, error) {
	var srcs []Source
	var ps problems
	read := func(path string) {
		if len(srcs) >= maxFiles {
			ps.add(pos{file: path}, "", "too many files (at most %d)", maxFiles)
			return
		}
		b, err := readBounded(path)
		if err != nil {
			ps.add(pos{file: path}, "", "%v", err)
			return
		}
		srcs = append(srcs, Source{Name: path, Data: b})
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			ps.add(pos{file: p}, "", "cannot read: %v", errors.Unwrap(err))
			continue
		}
		if !st.IsDir() {
			read(p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			ps.add(pos{file: p}, "", "cannot read the directory")
			continue
		}
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if e.Type().IsRegular() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
				read(filepath.Join(p, e.Name()))
			}
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return Load(srcs)
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", errors.Unwrap(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxFileBytes)
	}
	return b, nil
}

// Load reads sources (YAML, or JSON, which is YAML too) as one
// configuration. On failure the *Error lists every problem of every file.
func Load(srcs []Source) (*Config, error) {
	var ps problems
	cfg := &Config{}
	where := map[string]pos{}
	for _, src := range srcs {
		for _, td := range loadOne(src, &ps) {
			if first, dup := where[td.Slug]; dup {
				ps.add(td.at, "tenants["+td.Slug+"]", "the tenant is also declared at %s:%d", first.file, first.line)
				continue
			}
			where[td.Slug] = td.at
			cfg.Tenants = append(cfg.Tenants, td)
		}
	}
	if len(cfg.Tenants) == 0 && len(ps.list) == 0 {
		ps.add(pos{}, "tenants", "the files declare no tenant")
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func loadOne(src Source, ps *problems) []*TenantDecl {
	file := pos{file: src.Name}
	dec := yaml.NewDecoder(bytes.NewReader(src.Data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		ps.add(file, "", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		ps.add(file, "", "must hold exactly one YAML document")
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	// A node takes at least a byte of its file, but for aliases.
	w := &walker{file: src.Name, ps: ps, budget: len(src.Data) + 1000}
	if root.Kind != yaml.MappingNode {
		ps.add(w.at(root), "", "a mapping with tenants: is expected")
		return nil
	}
	// The tenants are walked one by one below; here only the top keys.
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Value != "tenants" {
			ps.add(w.at(k), k.Value, "unknown key")
		}
	}
	list := child(root, "tenants")
	if list == nil || list.Kind != yaml.SequenceNode {
		ps.add(w.at(root), "tenants", "the file declares no tenants (a list under tenants:)")
		return nil
	}
	var out []*TenantDecl
	for i, item := range list.Content {
		if td := w.tenant(item, i); td != nil {
			out = append(out, td)
		}
	}
	return out
}

// tenant reads one tenant item; nil when it has no usable slug.
func (w *walker) tenant(n *yaml.Node, index int) *TenantDecl {
	slugNode := child(n, "slug")
	label := fmt.Sprintf("tenants[%d]", index)
	if slugNode == nil || slugNode.Kind != yaml.ScalarNode || slugNode.Value == "" {
		w.ps.add(w.at(n), label+".slug", "every tenant needs its slug")
		return nil
	}
	label = "tenants[" + slugNode.Value + "]"
	var c valid.Collector
	tenancy.CheckSlug(&c, slugNode.Value)
	if err := c.Err(); err != nil {
		var ve *valid.Error
		errors.As(err, &ve)
		w.ps.add(w.at(slugNode), label+".slug", "%s", ve.Fields[0].Message)
	}
	plain, _ := w.value(n, reflect.TypeFor[Tenant](), label).(map[string]any)
	td := &TenantDecl{at: w.at(n), lines: keyLines(n), objects: map[string][]*Decl{}}
	if err := roundTrip(plain, &td.Tenant); err != nil {
		w.ps.add(w.at(n), label, "cannot be read: %v", err)
		return nil
	}
	if s, ok := plain["settings"].(map[string]any); ok {
		td.settings = s
	}
	for _, k := range kinds {
		seq := child(n, k.list)
		if seq == nil || seq.Kind != yaml.SequenceNode {
			continue
		}
		items, _ := plain[k.list].([]any)
		decls := make([]*Decl, 0, len(seq.Content))
		seen := map[string]int{}
		for i, item := range seq.Content {
			fields, _ := items[i].(map[string]any)
			key, _ := fields[k.key].(string)
			at := w.at(item)
			if key == "" {
				w.ps.add(at, fmt.Sprintf("%s.%s[%d].%s", label, k.list, i, k.key), "every item needs its %s", k.key)
				continue
			}
			if first, dup := seen[key]; dup {
				w.ps.add(at, label+"."+k.list+"["+key+"]", "declared twice (first at line %d)", first)
				continue
			}
			seen[key] = at.line
			// Through JSON, so numbers compare as the live state's do.
			var norm map[string]any
			if err := roundTrip(fields, &norm); err != nil {
				w.ps.add(at, label+"."+k.list+"["+key+"]", "cannot be read: %v", err)
				continue
			}
			decls = append(decls, &Decl{Key: key, at: at, lines: keyLines(item), fields: norm})
		}
		td.objects[k.list] = decls
	}
	for _, d := range td.objects["connections"] {
		if ref, ok := d.fields["client_secret"].(string); ok && !IsReference(ref) {
			w.ps.add(d.line("client_secret"), label+".connections["+d.Key+"].client_secret",
				"a secret is never written in a file: give a reference, ${env:NAME} or ${file:/path}")
		}
		if t, _ := d.fields["type"].(string); t == "" {
			w.ps.add(d.at, label+".connections["+d.Key+"].type", "every connection needs its type")
		}
	}
	for _, d := range td.objects["groups"] {
		if l, ok := d.fields["members"].([]any); ok {
			d.fields["members"] = lowerSorted(l)
		}
	}
	for _, d := range td.objects["saml_sps"] {
		normaliseSP(d.fields)
	}
	for _, d := range td.objects["roles"] {
		for _, f := range []string{"permissions", "approvers"} {
			if l, ok := d.fields[f].([]any); ok {
				d.fields[f] = sortedStrings(l)
			}
		}
		if md, ok := d.fields["max_duration"].(string); ok && md != "" {
			dur, err := time.ParseDuration(md)
			if err != nil || dur <= 0 {
				w.ps.add(d.line("max_duration"), label+".roles["+d.Key+"].max_duration", "a duration such as 8h or 30m is expected")
			} else {
				d.fields["max_duration"] = dur.String()
			}
		}
	}
	return td
}

// normaliseSP rewrites the declared fields of a SAML provider as the
// service stores them (ACS indexes and bindings, the full NameID format, a
// canonical PEM), so what the service fills in is not a change.
func normaliseSP(fields map[string]any) {
	var in SAMLSP
	if roundTrip(fields, &in) != nil {
		return
	}
	sp := store.SAMLServiceProvider{Name: in.Name, EntityID: in.EntityID, ACS: in.ACS, SLOURL: in.SLOURL,
		SLOBinding: in.SLOBinding, Certificate: in.Certificate, NameIDFormat: in.NameIDFormat}
	samlreg.Normalise(&sp)
	var out map[string]any
	if roundTrip(spOf(&sp), &out) != nil {
		return
	}
	for _, k := range []string{"name", "entity_id", "acs", "slo_binding", "certificate", "name_id_format"} {
		if _, declared := fields[k]; declared {
			fields[k] = out[k]
		}
	}
}

// sortedStrings sorts and dedupes a list, as the role service stores it.
func sortedStrings(l []any) []any {
	out := slices.Clone(l)
	slices.SortFunc(out, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return slices.CompactFunc(out, func(a, b any) bool { return a == b })
}

// lowerSorted is a list of emails as they are compared: lower case,
// sorted, each once.
func lowerSorted(l []any) []any {
	out := make([]any, len(l))
	for i, v := range l {
		out[i] = strings.ToLower(fmt.Sprint(v))
	}
	return sortedStrings(out)
}

// roundTrip converts plain JSON values into typed ones (or back).
func roundTrip(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
