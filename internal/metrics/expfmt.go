package metrics

import (
	"bufio"
	"math"
	"strconv"
	"strings"
)

// writeHeader writes the HELP and TYPE lines of a family.
func writeHeader(w *bufio.Writer, name, help, typ string) {
	w.WriteString("# HELP ")
	w.WriteString(name)
	w.WriteByte(' ')
	writeEscaped(w, help, false)
	w.WriteString("\n# TYPE ")
	w.WriteString(name)
	w.WriteByte(' ')
	w.WriteString(typ)
	w.WriteByte('\n')
}

// writeSample writes one sample line: name+suffix, the labels (names[i] =
// values[i], then extraName = extraValue if extraName is not empty) and v.
func writeSample(w *bufio.Writer, name, suffix string, names, values []string, extraName, extraValue string, v float64) {
	w.WriteString(name)
	w.WriteString(suffix)
	if len(names) > 0 || extraName != "" {
		w.WriteByte('{')
		for i, n := range names {
			if i > 0 {
				w.WriteByte(',')
			}
			writeLabel(w, n, values[i])
		}
		if extraName != "" {
			if len(names) > 0 {
				w.WriteByte(',')
			}
			writeLabel(w, extraName, extraValue)
		}
		w.WriteByte('}')
	}
	w.WriteByte(' ')
	w.WriteString(formatFloat(v))
	w.WriteByte('\n')
}

func writeLabel(w *bufio.Writer, name, value string) {
	w.WriteString(name)
	w.WriteString(`="`)
	writeEscaped(w, value, true)
	w.WriteByte('"')
}

// writeEscaped writes s with backslash and newline escaped (and, for label
// values, double quotes). Invalid UTF-8 is replaced by U+FFFD so the output
// is always valid UTF-8.
func writeEscaped(w *bufio.Writer, s string, quote bool) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	start := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '\\':
			esc = `\\`
		case '\n':
			esc = `\n`
		case '"':
			if !quote {
				continue
			}
			esc = `\"`
		default:
			continue
		}
		w.WriteString(s[start:i])
		w.WriteString(esc)
		start = i + 1
	}
	w.WriteString(s[start:])
}

// formatFloat formats v as the text format expects: shortest
// round-tripping representation, or +Inf, -Inf, NaN.
func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, +1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
