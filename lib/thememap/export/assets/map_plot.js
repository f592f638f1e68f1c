/* part 2: the points (one WebGL trace), their colours and legend, the highlight canvas. */
var hover = null;
function hoverText() {  // built once per level: title (or first words), the user's id, theme
  if (hover) return hover;
  hover = new Array(N);
  var names = C.map(function (c) { return "<br><i>" + escape(c.title) + "</i>"; });
  for (var i = 0; i < N; i++) {
    var c = clusterOf(i, state.level);
    hover[i] = "<b>" + wrap(titleOf(i), 70) + "</b><br>id: " + escape(I.id[i])
      + (c >= 0 ? names[c] : "") + (I.t && I.t[i] ? "<br>" + I.t[i] : "");  // dates: ours, ISO
  }
  return hover;
}
function computeVisible() {
  var keep = [];
  for (var i = 0; i < N; i++) {
    if (state.category && categoryOf(i) !== state.category) continue;
    if (I.t && (state.from || state.to)) {
      var t = I.t[i];
      if (!t || (state.from && t < state.from) || (state.to && t > state.to)) continue;
    }
    keep.push(i);
  }
  state.visible = keep;
}
function pick(arr, idx) { var out = new Array(idx.length); for (var k = 0; k < idx.length; k++) out[k] = arr[idx[k]]; return out; }

// ---- colour: by a level (theme colours) or by a metadata field ----------------------
var RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];  // viridis
function ramp(t) {
  t = Math.max(0, Math.min(1, t)) * (RAMP.length - 1);
  var k = Math.min(Math.floor(t), RAMP.length - 2), f = t - k, a = RAMP[k], b = RAMP[k + 1];
  return "rgb(" + [0, 1, 2].map(function (j) { return Math.round(a[j] + (b[j] - a[j]) * f); }).join(",") + ")";
}
function colourField() { return state.colour.indexOf("field:") === 0 ? F[Number(state.colour.slice(6))] : null; }
function categoryColour(f, code) {
  if (code < 0) return O.unplaced_color;
  return f.other && code === f.values.length - 1 ? "#8a8a8a" : O.palette[code % O.palette.length];
}
function colourOf() {
  var f = colourField();
  if (!f) {
    var c = I.c[state.colour.slice(6)];
    return function (i) { var ci = c[i]; return ci >= 0 ? C[ci].color : O.unplaced_color; };
  }
  if (f.kind === "category") return function (i) { return categoryColour(f, f.codes[i]); };
  var span = f.hi - f.lo || 1;
  return function (i) { var v = f.values[i]; return v === null ? O.unplaced_color : ramp((v - f.lo) / span); };
}
function colours(idx) {
  var out = new Array(idx.length), of = colourOf();
  for (var k = 0; k < idx.length; k++) out[k] = of(idx[k]);
  return out;
}
function drawLegend() {
  var box = byId("tm-legend"), f = colourField();
  box.textContent = "";
  box.hidden = !f;
  if (!f) return;
  box.appendChild(el("div", { "class": "tm-legend-title" }, f.name));
  if (f.kind === "category") {
    f.values.forEach(function (value, code) {
      var row = button("tm-legend-row", "", function () { selectWhere(function (i) { return f.codes[i] === code; }, f.name + " = " + value); });
      var sw = el("span", { "class": "tm-swatch" });
      sw.style.background = categoryColour(f, code);
      row.appendChild(sw);
      row.appendChild(el("span", { "class": "tm-legend-value" }, value));
      row.appendChild(el("span", { "class": "tm-legend-count" }, fmt(f.counts[code])));
      row.title = "select these items";
      box.appendChild(row);
    });
  } else {
    var bar = el("div", { "class": "tm-colourbar" });
    bar.style.background = "linear-gradient(to right," + RAMP.map(function (c) { return "rgb(" + c.join(",") + ")"; }).join(",") + ")";
    box.appendChild(bar);
    var ticks = el("div", { "class": "tm-colourbar-ticks" });
    ticks.appendChild(el("span", {}, (f.lo > f.min ? "≤ " : "") + fmt(f.lo)));
    ticks.appendChild(el("span", {}, fmt(Math.round((f.lo + f.hi) / 2 * 1000) / 1000)));
    ticks.appendChild(el("span", {}, (f.hi < f.max ? "≥ " : "") + fmt(f.hi)));
    box.appendChild(ticks);
  }
}

// ---- the trace and the layout --------------------------------------------------------
function selectedPositions() {
  if (!state.selected) return null;
  var v = state.visible, out = [];
  for (var k = 0; k < v.length; k++) if (state.selected[v[k]]) out.push(k);
  return out;
}
function traces() {
  var v = state.visible, h = hoverText();
  return [
    { type: "scattergl", mode: "markers", name: "items", x: pick(I.x, v), y: pick(I.y, v),
      text: pick(h, v), customdata: v, hovertemplate: "%{text}<extra></extra>",
      marker: { size: O.point_size, color: colours(v), opacity: O.opacity },
      selectedpoints: selectedPositions(),
      selected: { marker: { opacity: 1 } }, unselected: { marker: { opacity: 0.1 } } }
  ];
}
var layout = {
  margin: { l: 8, r: 8, t: 8, b: 8 }, showlegend: false, dragmode: "pan", hovermode: "closest",
  xaxis: { visible: false }, yaxis: { visible: false, scaleanchor: "x" },
  plot_bgcolor: "#fff", paper_bgcolor: "#fff", uirevision: "keep",
  hoverlabel: { align: "left", bgcolor: "#fff", bordercolor: "#888", font: { size: 12, color: "#111" } }
};
if (O.view && O.view.x && O.view.y) {  // frame where the items are, not their far outliers
  layout.xaxis.range = O.view.x.slice(); layout.yaxis.range = O.view.y.slice();
}
var config = { scrollZoom: true, displaylogo: false, responsive: true,
               modeBarButtonsToRemove: ["toImage", "autoScale2d"] };
function redraw() { return Plotly.react(gd, traces(), layout, config).then(placeLabels); }

// ---- highlight: a 2D canvas above the WebGL points (no WebGL re-upload per query) -----
var hl = byId("tm-highlight"), hctx = hl.getContext("2d");
function toScreen(fl) {
  var xr = fl.xaxis.range, yr = fl.yaxis.range, s = fl._size;
  var kx = s.w / (xr[1] - xr[0]), ky = s.h / (yr[1] - yr[0]);
  return function (i) { return [s.l + (I.x[i] - xr[0]) * kx, s.t + s.h - (I.y[i] - yr[0]) * ky]; };
}
function drawHighlight() {
  var active = state.highlight.length > 0 || state.query !== "";
  hl.style.display = active || state.focus >= 0 ? "" : "none";
  var fl = gd._fullLayout, dpr = window.devicePixelRatio || 1;
  var W = hl.clientWidth, H = hl.clientHeight;
  if (hl.width !== Math.round(W * dpr) || hl.height !== Math.round(H * dpr)) {
    hl.width = Math.round(W * dpr); hl.height = Math.round(H * dpr);
  }
  hctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  hctx.clearRect(0, 0, W, H);
  var glc = gd.querySelector(".gl-container");
  if (glc) glc.style.opacity = active ? "0.25" : "";
  if (!fl || !fl.xaxis) return;
  var s = fl._size, at = toScreen(fl), m = state.highlight;
  var r = O.point_size / 2 + (m.length > 5000 ? 0.5 : 2);  // many matches: smaller marks
  hctx.save();
  hctx.beginPath(); hctx.rect(s.l, s.t, s.w, s.h); hctx.clip();
  var pts = [];
  for (var k = 0; k < m.length; k++) {
    var p = at(m[k]);
    if (p[0] < s.l - r || p[0] > s.l + s.w + r || p[1] < s.t - r || p[1] > s.t + s.h + r) continue;
    pts.push(p[0], p[1]);
  }
  // a dark disc under a bright one: an outline that stays crisp when thousands overlap
  [[r + 1, "#222"], [r, O.highlight_color]].forEach(function (pass) {
    hctx.beginPath();
    for (var j = 0; j < pts.length; j += 2) { hctx.moveTo(pts[j] + pass[0], pts[j + 1]); hctx.arc(pts[j], pts[j + 1], pass[0], 0, 6.2832); }
    hctx.fillStyle = pass[1]; hctx.fill();
  });
  if (state.focus >= 0) {  // the item in the item panel: a ring
    var f = at(state.focus);
    hctx.lineWidth = 2.5; hctx.strokeStyle = "#d40000";
    hctx.beginPath(); hctx.arc(f[0], f[1], 9, 0, 6.2832); hctx.stroke();
  }
  hctx.restore();
}
