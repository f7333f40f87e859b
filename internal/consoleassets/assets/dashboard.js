// Draws the console dashboard's charts with uPlot. Each chart is an
// element with class "gh-chart" whose data-chart attribute holds
// {"x": [unix seconds...], "series": [{"label": "...", "values": [...]}]},
// written by the server; the numbers are also in the page as text, so the
// page says everything without script.
(function () {
  "use strict";
  var palette = ["#1a7f37", "#cf222e", "#0969da", "#9a6700", "#8250df", "#57606a"];

  function draw(el) {
    var spec;
    try {
      spec = JSON.parse(el.getAttribute("data-chart"));
    } catch (e) {
      return;
    }
    var data = [spec.x];
    var series = [{}];
    spec.series.forEach(function (s, i) {
      data.push(s.values);
      series.push({ label: s.label, stroke: palette[i % palette.length], width: 2 });
    });
    var width = Math.max(280, el.clientWidth || 600);
    var opts = {
      width: width,
      height: 200,
      series: series,
      axes: [{}, { size: 48 }],
      scales: { x: { time: true } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    el.textContent = "";
    var plot = new uPlot(opts, data, el);
    el.setAttribute("data-drawn", String(data[1] ? data[1].length : 0));
    window.addEventListener("resize", function () {
      plot.setSize({ width: Math.max(280, el.clientWidth || 600), height: 200 });
    });
  }

  function init() {
    var els = document.querySelectorAll(".gh-chart[data-chart]");
    for (var i = 0; i < els.length; i++) {
      draw(els[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
