package configcode

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Write prints the plan for people: per tenant, + for a creation, ~ for a
// change (field by field, before -> after), - for a deletion, then the
// totals.
func (p *Plan) Write(w io.Writer) error {
	var b strings.Builder
	for _, t := range p.Tenants {
		fmt.Fprintf(&b, "tenant %s\n", t.Slug)
		if len(t.Changes) == 0 {
			b.WriteString("  no changes\n")
		}
		for _, c := range t.Changes {
			sign := map[string]string{ActionCreate: "+", ActionUpdate: "~", ActionDelete: "-"}[c.Action]
			fmt.Fprintf(&b, "  %s %s %s\n", sign, c.Kind, c.Key)
			for _, f := range c.Fields {
				if c.Action == ActionCreate {
					fmt.Fprintf(&b, "      %s: %s\n", f.Field, show(f.After))
				} else {
					fmt.Fprintf(&b, "      %s: %s -> %s\n", f.Field, show(f.Before), show(f.After))
				}
			}
		}
		if len(t.Kept) > 0 {
			fmt.Fprintf(&b, "  not in the files, kept (--prune deletes them): %s\n", strings.Join(t.Kept, ", "))
		}
	}
	c, u, d := p.Count()
	if c+u+d == 0 {
		b.WriteString("No changes: the live state matches the files.\n")
	} else {
		fmt.Fprintf(&b, "Plan: %d to create, %d to change, %d to delete.\n", c, u, d)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// show prints a value as compact JSON (a long one cut short).
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}
