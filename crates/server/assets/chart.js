// The overview's and the reports' chart: clicks, conversions and payout
// per day (uPlot). Without scripts the tables beside it say the same.
(function () {
  var el = document.getElementById("chart");
  var src = document.getElementById("chart-data");
  if (!el || !src || typeof uPlot === "undefined") return;
  var d = JSON.parse(src.textContent);
  var opts = {
    width: el.clientWidth || 600, height: 240,
    scales: { x: { time: true } },
    series: [
      {},
      { label: "Clicks", stroke: "#0b57d0", width: 2 },
      { label: "Conversions", stroke: "#1d6b33", width: 2, scale: "c" },
      { label: "Payout (" + d.currency + ")", stroke: "#8a4b00", width: 2, dash: [6, 3], scale: "p" }
    ],
    axes: [{}, { label: "Clicks" }, { side: 1, scale: "c", label: "Conversions", grid: { show: false } },
      { side: 1, scale: "p", label: "Payout", grid: { show: false } }]
  };
  var plot = new uPlot(opts, [d.days, d.clicks, d.conversions, d.payout], el);
  window.addEventListener("resize", function () { plot.setSize({ width: el.clientWidth, height: 240 }); });
})();
