package branding

import (
	"fmt"
	"math"
	"strconv"
)

// MinContrast is WCAG 2.x level AA for normal text.
const MinContrast = 4.5

// parseHex reads #rrggbb; ok is false for anything else.
func parseHex(s string) (r, g, b uint8, ok bool) {
	if !colorRE.MatchString(s) {
		return 0, 0, 0, false
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return 0, 0, 0, false
	}
	return uint8(v >> 16), uint8(v >> 8), uint8(v), true
}

// luminance is WCAG relative luminance of an sRGB colour.
func luminance(r, g, b uint8) float64 {
	lin := func(c uint8) float64 {
		v := float64(c) / 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// Contrast is the WCAG contrast ratio of two #rrggbb colours (1 to 21);
// 0 when either is not such a colour.
func Contrast(a, b string) float64 {
	ar, ag, ab, ok1 := parseHex(a)
	br, bg, bb, ok2 := parseHex(b)
	if !ok1 || !ok2 {
		return 0
	}
	la, lb := luminance(ar, ag, ab), luminance(br, bg, bb)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// Accessible answers color when it reaches MinContrast against white
// (white button text on it; it as link text on a white page), otherwise
// the same hue darkened step by step until it does; DefaultColor for
// anything that is not #rrggbb. Black reaches 21:1, so the loop ends.
func Accessible(color string) string {
	r, g, b, ok := parseHex(color)
	if !ok {
		return DefaultColor
	}
	for f := 1.0; f > 0; f -= 0.02 {
		c := fmt.Sprintf("#%02x%02x%02x", scale(r, f), scale(g, f), scale(b, f))
		if Contrast(c, "#ffffff") >= MinContrast {
			return c
		}
	}
	return "#000000"
}

func scale(c uint8, f float64) uint8 { return uint8(math.Round(float64(c) * f)) }
