// The overview's chart: clicks and conversions per day (uPlot).
(function () {
  var el = document.getElementById("chart");
  var src = document.getElementById("chart-data");
  if (!el || !src || typeof uPlot === "undefined") return;
  var d = JSON.parse(src.textContent);
  var opts = {
    width: el.clientWidth || 600, height: 240,
    scales: { x: { time: true } },
    series: [{}, { label: "Clicks", stroke: "#0b57d0", width: 2 }, { label: "Conversions", stroke: "#1d6b33", width: 2, scale: "c" }],
    axes: [{}, { label: "Clicks" }, { side: 1, scale: "c", label: "Conversions", grid: { show: false } }]
  };
  var plot = new uPlot(opts, [d.days, d.clicks, d.conversions], el);
  window.addEventListener("resize", function () { plot.setSize({ width: el.clientWidth, height: 240 }); });
})();
