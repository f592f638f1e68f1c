/* thememap interactive map: plotly scattergl + labels that follow zoom, search, filters, cards.
   All item text is untrusted: it reaches the page only through textContent or, for plotly's
   hover (which reads a small HTML subset), after escape(). */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("tm-data").textContent);
  var O = D.options, C = D.clusters, I = D.items, N = I.x.length;
  var gd = document.getElementById("tm-plot");
  var labelsLayer = document.getElementById("tm-labels");
  var card = document.getElementById("tm-card");
  var searchBox = document.getElementById("tm-search");
  var countEl = document.getElementById("tm-count");
  var levelSel = document.getElementById("tm-level");
  var levelNote = document.getElementById("tm-names");
  var catSel = document.getElementById("tm-category");
  var fromEl = document.getElementById("tm-from"), toEl = document.getElementById("tm-to");
  var state = { level: O.level, query: "", category: "", from: "", to: "", visible: null, matches: [] };
  var home = null, lower = null, hover = null, activeCluster = -1;

  function escape(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  function wrap(s, width) {  // plotly hover boxes do not wrap on their own
    var words = String(s).split(/\s+/), lines = [], line = "";
    for (var i = 0; i < words.length; i++) {
      if (line && (line + " " + words[i]).length > width) { lines.push(line); line = words[i]; }
      else line = line ? line + " " + words[i] : words[i];
    }
    if (line) lines.push(line);
    return lines.map(escape).join("<br>");
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clusterOf(i, level) { var c = I.c[String(level)]; return c ? c[i] : -1; }
  function categoryOf(i) {
    for (var lv = state.level; lv >= 1; lv--) {
      var c = clusterOf(i, lv);
      if (c >= 0 && C[c].category) return C[c].category;
    }
    return "";
  }

  // ---- controls -----------------------------------------------------------
  D.levels.forEach(function (lv) {
    var opt = el("option", { value: String(lv) }, "level " + lv);
    if (lv === state.level) opt.selected = true;
    levelSel.appendChild(opt);
  });
  var cats = {};
  C.forEach(function (c) { if (c.category) cats[c.category] = true; });
  Object.keys(cats).sort().forEach(function (c) { catSel.appendChild(el("option", { value: c }, c)); });
  if (I.t) {
    var dates = I.t.filter(function (t) { return t; }).sort();
    if (dates.length) {
      document.getElementById("tm-dates").hidden = false;
      fromEl.min = toEl.min = dates[0]; fromEl.max = toEl.max = dates[dates.length - 1];
    }
  }

  // ---- points -------------------------------------------------------------
  function hoverText() {
    if (hover) return hover;
    hover = new Array(N);
    for (var i = 0; i < N; i++) {
      var c = clusterOf(i, state.level);
      hover[i] = wrap(I.text[i], 70) + (c >= 0 ? "<br><i>" + escape(C[c].title) + "</i>" : "")
        + (I.t && I.t[i] ? "<br>" + escape(I.t[i]) : "");
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
  function colours(idx) {
    var out = new Array(idx.length), c = I.c[String(state.level)];
    for (var k = 0; k < idx.length; k++) { var ci = c[idx[k]]; out[k] = ci >= 0 ? C[ci].color : O.unplaced_color; }
    return out;
  }
  function traces() {
    var v = state.visible, h = hoverText();
    return [
      { type: "scattergl", mode: "markers", name: "items", x: pick(I.x, v), y: pick(I.y, v),
        text: pick(h, v), customdata: v, hovertemplate: "%{text}<extra></extra>",
        marker: { size: O.point_size, color: colours(v), opacity: O.opacity } }
    ];
  }
  var layout = {
    margin: { l: 8, r: 8, t: 8, b: 8 }, showlegend: false, dragmode: "pan", hovermode: "closest",
    xaxis: { visible: false }, yaxis: { visible: false, scaleanchor: "x" },
    plot_bgcolor: "#fff", paper_bgcolor: "#fff", uirevision: "keep",
    hoverlabel: { align: "left", bgcolor: "#fff", bordercolor: "#888", font: { size: 12, color: "#111" } }
  };
  var config = { scrollZoom: true, displaylogo: false, responsive: true,
                 modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"] };
  function redraw() { return Plotly.react(gd, traces(), layout, config).then(placeLabels); }

  // ---- search highlight: a 2D canvas above the WebGL points (no WebGL re-upload per query) --
  var hl = document.getElementById("tm-highlight"), hctx = hl.getContext("2d");
  function drawHighlight() {
    hl.style.display = state.query ? "" : "none";  // no layer to composite while not searching
    var fl = gd._fullLayout, dpr = window.devicePixelRatio || 1;
    var W = hl.clientWidth, H = hl.clientHeight;
    if (hl.width !== Math.round(W * dpr) || hl.height !== Math.round(H * dpr)) {
      hl.width = Math.round(W * dpr); hl.height = Math.round(H * dpr);
    }
    hctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    hctx.clearRect(0, 0, W, H);
    var gl = gd.querySelector(".gl-container");
    if (gl) gl.style.opacity = state.query ? "0.25" : "";
    if (!state.query || !fl || !fl.xaxis) return;
    var xr = fl.xaxis.range, yr = fl.yaxis.range, s = fl._size, m = state.matches;
    var kx = s.w / (xr[1] - xr[0]), ky = s.h / (yr[1] - yr[0]);
    var r = O.point_size / 2 + (m.length > 5000 ? 0.5 : 2);  // many matches: smaller marks
    hctx.save();
    hctx.beginPath(); hctx.rect(s.l, s.t, s.w, s.h); hctx.clip();
    var pts = [];
    for (var k = 0; k < m.length; k++) {
      var px = s.l + (I.x[m[k]] - xr[0]) * kx, py = s.t + s.h - (I.y[m[k]] - yr[0]) * ky;
      if (px < s.l - r || px > s.l + s.w + r || py < s.t - r || py > s.t + s.h + r) continue;
      pts.push(px, py);
    }
    // a dark disc under a bright one: an outline that stays crisp when thousands overlap
    [[r + 1, "#222"], [r, O.highlight_color]].forEach(function (pass) {
      hctx.beginPath();
      for (var j = 0; j < pts.length; j += 2) { hctx.moveTo(pts[j] + pass[0], pts[j + 1]); hctx.arc(pts[j], pts[j + 1], pass[0], 0, 6.2832); }
      hctx.fillStyle = pass[1]; hctx.fill();
    });
    hctx.restore();
  }

  // ---- labels that follow zoom --------------------------------------------
  var measure = document.createElement("canvas").getContext("2d");
  function placeLabels() {
    var fl = gd._fullLayout;
    if (!fl || !fl.xaxis || !fl.yaxis) return;
    var xr = fl.xaxis.range, yr = fl.yaxis.range, s = fl._size;
    if (!home) home = { x: Math.abs(xr[1] - xr[0]), y: Math.abs(yr[1] - yr[0]) };
    var zoom = home.x / Math.abs(xr[1] - xr[0]);
    var level = D.levels[0];
    for (var k = 0; k < O.label_zoom.length; k++) if (zoom >= O.label_zoom[k] && D.levels[k + 1]) level = D.levels[k + 1];
    drawHighlight();
    labelsLayer.textContent = "";
    labelsLayer.dataset.level = String(level);
    levelNote.textContent = "names: level " + level;
    var boxes = [], placed = 0;
    var order = C.map(function (c, i) { return i; })
      .filter(function (i) { return C[i].level === level && C[i].x !== null; })
      .sort(function (a, b) { return C[b].size - C[a].size; });
    for (var j = 0; j < order.length && placed < O.max_labels; j++) {
      var c = C[order[j]];
      var px = s.l + (c.x - xr[0]) / (xr[1] - xr[0]) * s.w;
      var py = s.t + (1 - (c.y - yr[0]) / (yr[1] - yr[0])) * s.h;
      if (px < s.l || px > s.l + s.w || py < s.t || py > s.t + s.h) continue;
      if (c._w === undefined) { measure.font = "600 12px system-ui, sans-serif"; c._w = measure.measureText(c.title).width + 14; }
      var w = c._w, h = 18;
      var box = [px - w / 2 - 2, py - h / 2 - 2, px + w / 2 + 2, py + h / 2 + 2];
      var clash = boxes.some(function (b) { return box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3]; });
      if (clash) continue;
      boxes.push(box); placed++;
      var btn = el("button", { "class": "tm-label", type: "button", "data-cluster": String(order[j]) }, c.title);
      btn.style.left = px + "px"; btn.style.top = py + "px";
      if (order[j] === activeCluster) btn.classList.add("tm-active");
      labelsLayer.appendChild(btn);
    }
  }
  labelsLayer.addEventListener("click", function (ev) {
    var t = ev.target.closest ? ev.target.closest(".tm-label") : null;
    if (t) showCard(Number(t.getAttribute("data-cluster")));
  });

  // ---- cluster card -------------------------------------------------------
  function showCard(ci) {
    var c = C[ci]; activeCluster = ci;
    card.textContent = "";
    var close = el("button", { "class": "tm-close", type: "button", "aria-label": "Close" }, "×");
    close.onclick = function () { card.hidden = true; activeCluster = -1; Plotly.Plots.resize(gd); };
    card.appendChild(close);
    card.appendChild(el("h2", { "class": "tm-title" }, c.title));
    var meta = ["level " + c.level, c.size.toLocaleString() + " items"];
    if (c.category) meta.push(c.category);
    if (c.strength !== null && c.strength !== undefined) meta.push("strength " + c.strength + "/10");
    card.appendChild(el("div", { "class": "tm-meta" }, meta.join(" · ")));
    if (c.summary) card.appendChild(el("p", { "class": "tm-summary" }, c.summary));
    if (c.keywords.length) {
      card.appendChild(el("h3", {}, "Key phrases"));
      var chips = el("div", { "class": "tm-keywords" });
      c.keywords.forEach(function (k) { chips.appendChild(el("span", { "class": "tm-chip" }, k)); });
      card.appendChild(chips);
    }
    if (c.samples.length) {
      card.appendChild(el("h3", {}, "Sample items"));
      var ul = el("ul", { "class": "tm-samples" });
      c.samples.forEach(function (s) { ul.appendChild(el("li", {}, s)); });
      card.appendChild(ul);
    }
    var rel = el("div", { "class": "tm-related" });
    if (c.parent >= 0) {
      rel.appendChild(el("h3", {}, "Inside"));
      var up = el("button", { "class": "tm-link", type: "button" }, C[c.parent].title);
      up.onclick = function () { showCard(c.parent); };
      rel.appendChild(up);
    }
    var kids = C.map(function (k, i) { return i; }).filter(function (i) { return C[i].parent === ci; });
    if (kids.length) {
      rel.appendChild(el("h3", {}, "Sub-themes"));
      var list = el("ul");
      kids.forEach(function (i) {
        var li = el("li"), b = el("button", { "class": "tm-link", type: "button" }, C[i].title + " (" + C[i].size + ")");
        b.onclick = function () { showCard(i); }; li.appendChild(b); list.appendChild(li);
      });
      rel.appendChild(list);
    }
    card.appendChild(rel);
    card.hidden = false;
    Plotly.Plots.resize(gd).then(placeLabels);
  }

  // ---- search and filters -------------------------------------------------
  function runSearch() {
    var q = searchBox.value.trim().toLowerCase();
    state.query = q; state.matches = [];
    if (q) {
      if (!lower) lower = I.text.map(function (t) { return String(t).toLowerCase(); });
      var v = state.visible;
      for (var k = 0; k < v.length; k++) if (lower[v[k]].indexOf(q) !== -1) state.matches.push(v[k]);
      countEl.textContent = state.matches.length.toLocaleString() + " match" + (state.matches.length === 1 ? "" : "es");
    } else {
      countEl.textContent = state.visible.length.toLocaleString() + " items";
    }
    drawHighlight();
    document.body.dataset.matches = String(state.matches.length);
  }
  var timer = null;
  searchBox.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(runSearch, 150); });
  function refilter() {
    state.category = catSel.value; state.from = fromEl.value; state.to = toEl.value;
    computeVisible();
    return redraw().then(runSearch);
  }
  catSel.addEventListener("change", refilter);
  fromEl.addEventListener("change", refilter);
  toEl.addEventListener("change", refilter);
  levelSel.addEventListener("change", function () {
    state.level = Number(levelSel.value); hover = null; refilter();
  });

  // ---- start --------------------------------------------------------------
  computeVisible();
  countEl.textContent = N.toLocaleString() + " items";
  var t0 = performance.now();
  Plotly.newPlot(gd, traces(), layout, config).then(function () {
    placeLabels();
    gd.on("plotly_relayout", placeLabels);
    var pending = false;  // while dragging: at most one label pass per frame
    gd.on("plotly_relayouting", function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; placeLabels(); });
    });
    gd.on("plotly_click", function (ev) {
      var p = ev.points && ev.points[0];
      if (!p) return;
      var ci = clusterOf(p.customdata, Number(labelsLayer.dataset.level) || state.level);
      if (ci >= 0) showCard(ci);
    });
    window.addEventListener("resize", function () { Plotly.Plots.resize(gd).then(placeLabels); });
    document.body.dataset.ready = "1";
    document.body.dataset.renderMs = String(Math.round(performance.now() - t0));
  });
  window.thememapMap = { gd: gd, showCard: showCard, placeLabels: placeLabels, state: state };
})();
