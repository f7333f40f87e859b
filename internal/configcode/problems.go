package configcode

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/config"
)

// Problem is one defect of a configuration: where (file and line, when
// known), which key (a dotted path such as
// tenants[acme].clients[web].redirect_uris) and what is wrong. It never
// holds a secret's value.
type Problem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Key     string `json:"key,omitempty"`
	Message string `json:"message"`
}

// String formats the problem as file:line: key: message, as the server
// configuration's problems are.
func (p Problem) String() string {
	src := p.File
	if src != "" && p.Line > 0 {
		src = fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return config.Problem{Key: p.Key, Source: src, Message: p.Message}.String()
}

// Error lists every problem found; nothing was changed.
type Error struct {
	Problems []Problem
}

// Error prints one problem a line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// pos is where a node sits in its file.
type pos struct {
	file string
	line int
}

// problems collects problems.
type problems struct {
	list []Problem
}

func (ps *problems) add(at pos, key, format string, args ...any) {
	ps.list = append(ps.list, Problem{File: at.file, Line: at.line, Key: key, Message: fmt.Sprintf(format, args...)})
}

// err answers the problems in file and line order, or nil.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	out := slices.Clone(ps.list)
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	return &Error{Problems: out}
}
