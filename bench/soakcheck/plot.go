package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The plot: one panel per series, time on the x axis, each panel's y axis
// from 0 to a little above its maximum, so growth reads as a rising line.
const (
	plotW, panelH = 960, 170
	marginL       = 90
	marginR       = 20
	marginT       = 30
	gap           = 28
)

var (
	ink   = color.RGBA{0x22, 0x22, 0x22, 0xff}
	grid  = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	line  = color.RGBA{0x1f, 0x5f, 0xbf, 0xff}
	white = color.RGBA{0xff, 0xff, 0xff, 0xff}
)

// series is one panel.
type series struct {
	name string
	x, y []float64
}

func writePlot(path, title string, ss []sample, cs []chunk) error {
	var t, g, h, r, rt, rate []float64
	for i, s := range ss {
		t, g, h, r = append(t, s.elapsedS/60), append(g, s.goroutines), append(h, s.heapB/(1<<20)), append(r, s.rssB/(1<<20))
		if i > 0 && i-1 < len(cs) {
			rt, rate = append(rt, s.elapsedS/60), append(rate, cs[i-1].Rate)
		}
	}
	panels := []series{
		{"goroutines", t, g},
		{"heap (MiB)", t, h},
		{"RSS (MiB)", t, r},
		{"rate (iterations/s)", rt, rate},
	}
	height := marginT + len(panels)*(panelH+gap) + 10
	img := image.NewRGBA(image.Rect(0, 0, plotW, height))
	fill(img, img.Bounds(), white)
	text(img, marginL, 18, title)
	xmax := 0.0
	for _, v := range t {
		xmax = max(xmax, v)
	}
	for i, p := range panels {
		top := marginT + i*(panelH+gap)
		drawPanel(img, image.Rect(marginL, top+12, plotW-marginR, top+12+panelH-20), p, xmax)
		text(img, marginL, top+10, p.name)
	}
	text(img, plotW-marginR-150, height-4, "time (minutes)")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func drawPanel(img *image.RGBA, box image.Rectangle, s series, xmax float64) {
	ymax := 0.0
	for _, v := range s.y {
		ymax = max(ymax, v)
	}
	ymax = niceCeil(ymax * 1.1)
	xmax = max(xmax, 1e-9)
	for k := 0; k <= 4; k++ {
		y := box.Max.Y - k*box.Dy()/4
		hline(img, box.Min.X, box.Max.X, y, grid)
		text(img, 4, y+4, fmt.Sprintf("%8.4g", ymax*float64(k)/4))
	}
	for k := 0; k <= 4; k++ {
		x := box.Min.X + k*box.Dx()/4
		vline(img, x, box.Min.Y, box.Max.Y, grid)
		text(img, x-8, box.Max.Y+12, fmt.Sprintf("%.3g", xmax*float64(k)/4))
	}
	hline(img, box.Min.X, box.Max.X, box.Max.Y, ink)
	vline(img, box.Min.X, box.Min.Y, box.Max.Y, ink)
	px := func(x, y float64) (int, int) {
		return box.Min.X + int(x/xmax*float64(box.Dx())), box.Max.Y - int(y/ymax*float64(box.Dy()))
	}
	for i := 1; i < len(s.x); i++ {
		x0, y0 := px(s.x[i-1], s.y[i-1])
		x1, y1 := px(s.x[i], s.y[i])
		seg(img, x0, y0, x1, y1, line)
	}
	for i := range s.x {
		x, y := px(s.x[i], s.y[i])
		fill(img, image.Rect(x-2, y-2, x+3, y+3), line)
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) { fill(img, image.Rect(x0, y, x1+1, y+1), c) }
func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) { fill(img, image.Rect(x, y0, x+1, y1+1), c) }

// seg draws a line from (x0,y0) to (x1,y1), two pixels thick (Bresenham).
func seg(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		fill(img, image.Rect(x0, y0, x0+2, y0+2), c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

func text(img *image.RGBA, x, y int, s string) {
	d := &font.Drawer{Dst: img, Src: image.NewUniform(ink), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
