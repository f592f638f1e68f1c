/* part 8: themes over time (where items have dates): items per period of the top themes at
   one level, stacked, and the emerging and fading themes (first half of the period against
   the second). Both follow the map's date filter; a range dragged on the chart sets it. */
var timePane = byId("tm-time"), timeChart = null, timeLevel = null, TOP_THEMES = 8;
function periodOf(span) {  // a bin of a "YYYY-MM-DD" date: month, week (its Monday) or day
  if (span >= 180) return function (t) { return t.slice(0, 7) + "-01"; };
  if (span >= 21) return function (t) {
    var d = new Date(t + "T00:00:00Z"), back = (d.getUTCDay() + 6) % 7;
    d.setUTCDate(d.getUTCDate() - back);
    return d.toISOString().slice(0, 10);
  };
  return function (t) { return t; };
}
function days(a, b) { return (Date.parse(b) - Date.parse(a)) / 864e5; }
function datedVisible() {  // visible items with a date, and the period they span
  var v = state.visible, out = [], lo = null, hi = null;
  for (var k = 0; k < v.length; k++) {
    var t = I.t[v[k]];
    if (!t) continue;
    out.push(v[k]);
    if (lo === null || t < lo) lo = t;
    if (hi === null || t > hi) hi = t;
  }
  return { items: out, from: state.from || lo, to: state.to || hi };
}
function themeCounts(items, level, test) {
  var col = I.c[String(level)], counts = {};
  items.forEach(function (i) { if (test(I.t[i]) && col[i] >= 0) counts[col[i]] = (counts[col[i]] || 0) + 1; });
  return counts;
}
function trendRows(d, level) {  // per theme: items in the first and in the second half
  var mid = new Date(Date.parse(d.from) + (Date.parse(d.to) - Date.parse(d.from)) / 2).toISOString().slice(0, 10);
  var first = themeCounts(d.items, level, function (t) { return t < mid; });
  var second = themeCounts(d.items, level, function (t) { return t >= mid; });
  var rows = [];
  C.forEach(function (c, ci) {
    if (c.level !== level) return;
    var a = first[ci] || 0, b = second[ci] || 0;
    if (a + b >= 5) rows.push({ ci: ci, a: a, b: b, ratio: (b + 1) / (a + 1) });
  });
  return { rows: rows, mid: mid };
}
function trendTable(rows, heading, cls) {
  var box = el("div", { "class": "tm-trend " + cls });
  box.appendChild(el("h3", {}, heading));
  var table = el("table", { "class": "tm-trend-table" }), head = el("tr");
  ["theme", "1st half", "2nd half", "change"].forEach(function (h) { head.appendChild(el("th", {}, h)); });
  table.appendChild(head);
  rows.forEach(function (r) {
    var tr = el("tr"), name = el("td");
    name.appendChild(button("tm-link", C[r.ci].title, function () { showCard(r.ci); }));
    tr.appendChild(name);
    tr.appendChild(el("td", {}, fmt(r.a)));
    tr.appendChild(el("td", {}, fmt(r.b)));
    var pct = r.a ? Math.round((r.b - r.a) / r.a * 100) : null;
    tr.appendChild(el("td", {}, pct === null ? "new" : (pct > 0 ? "+" : "") + pct + "%"));
    table.appendChild(tr);
  });
  if (!rows.length) box.appendChild(el("p", { "class": "tm-meta" }, "none"));
  else box.appendChild(table);
  return box;
}
function drawTime() {
  if (timeChart) Plotly.purge(timeChart);
  timePane.textContent = "";
  if (timeLevel === null) timeLevel = state.level;
  var bar = el("div", { "class": "tm-actions" });
  D.levels.forEach(function (lv) {
    var b = button("tm-btn" + (lv === timeLevel ? " tm-on" : ""), "level " + lv, function () { timeLevel = lv; drawTime(); });
    bar.appendChild(b);
  });
  timePane.appendChild(bar);
  var d = datedVisible();
  if (!d.items.length) { timePane.appendChild(el("p", { "class": "tm-meta" }, "No dated items in view.")); return; }
  timePane.appendChild(el("div", { "class": "tm-meta" }, fmt(d.items.length) + " dated items, " + d.from + " to " + d.to + " (drag on the chart to set the map's dates)"));
  timeChart = el("div", { id: "tm-time-chart" });
  timePane.appendChild(timeChart);
  var bin = periodOf(days(d.from, d.to)), col = I.c[String(timeLevel)], periods = {}, totals = {};
  d.items.forEach(function (i) { if (col[i] >= 0) totals[col[i]] = (totals[col[i]] || 0) + 1; });
  var top = Object.keys(totals).map(Number).sort(function (a, b) { return totals[b] - totals[a]; }).slice(0, TOP_THEMES);
  var rank = {}; top.forEach(function (ci, k) { rank[ci] = k; });
  d.items.forEach(function (i) {
    var p = bin(I.t[i]), row = periods[p] || (periods[p] = new Array(top.length + 1).fill(0));
    row[col[i] in rank ? rank[col[i]] : top.length] += 1;
  });
  var xs = Object.keys(periods).sort();
  var traces = top.map(function (ci, k) {
    return { type: "scatter", mode: "lines", stackgroup: "one", name: escape(firstWords(C[ci].title, 40)),
             x: xs, y: xs.map(function (p) { return periods[p][k]; }), line: { width: 0.5, color: C[ci].color },
             hovertemplate: "%{y}<extra>" + escape(firstWords(C[ci].title, 40)) + "</extra>" };
  });
  var rest = xs.map(function (p) { return periods[p][top.length]; });
  if (rest.some(Boolean)) traces.push({ type: "scatter", mode: "lines", stackgroup: "one", name: "other", x: xs,
                                        y: rest, line: { width: 0.5, color: "#c8c8c8" } });
  Plotly.newPlot(timeChart, traces, {
    margin: { l: 36, r: 6, t: 6, b: 28 }, dragmode: "zoom", showlegend: true,
    legend: { orientation: "h", y: -0.18, font: { size: 10 } }, xaxis: { type: "date" }, yaxis: { fixedrange: true }
  }, { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["toImage", "lasso2d", "select2d"] }).then(function () {
    timeChart.on("plotly_relayout", function (ev) {  // a dragged range becomes the map's date filter
      var r = ev["xaxis.range"] || (ev["xaxis.range[0]"] !== undefined ? [ev["xaxis.range[0]"], ev["xaxis.range[1]"]] : null);
      if (ev["xaxis.autorange"]) { fromEl.value = ""; toEl.value = ""; }
      else if (r) { fromEl.value = String(r[0]).slice(0, 10); toEl.value = String(r[1]).slice(0, 10); }
      else return;
      refilter();
    });
  });
  var trend = trendRows(d, timeLevel);
  timePane.appendChild(el("div", { "class": "tm-meta" }, "Emerging and fading: items before " + trend.mid + " against items from then on"));
  var up = trend.rows.filter(function (r) { return r.ratio > 1; }).sort(function (a, b) { return b.ratio - a.ratio; }).slice(0, 8);
  var down = trend.rows.filter(function (r) { return r.ratio < 1; }).sort(function (a, b) { return a.ratio - b.ratio; }).slice(0, 8);
  timePane.appendChild(trendTable(up, "Emerging", "tm-emerging"));
  timePane.appendChild(trendTable(down, "Fading", "tm-fading"));
  document.body.dataset.time = String(Date.now());
}
if (I.t) byId("tm-open-time").hidden = side.querySelector('[data-tab="time"]').hidden = false;
byId("tm-open-time").addEventListener("click", function () { openPane("time"); });
