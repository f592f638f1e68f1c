/* part 4: the side panel (tabs), a theme's card with its evidence, one item. */
var side = byId("tm-side"), card = byId("tm-card"), itemPane = byId("tm-item");
var PANES = { theme: "tm-card", item: "tm-item", results: "tm-results", selection: "tm-selection", hierarchy: "tm-hierarchy", time: "tm-time" };
function openPane(name) {
  Object.keys(PANES).forEach(function (p) {
    byId(PANES[p]).hidden = p !== name;
    var tab = side.querySelector('[data-tab="' + p + '"]');
    tab.classList.toggle("tm-on", p === name);
    tab.setAttribute("aria-selected", p === name ? "true" : "false");
  });
  side.dataset.pane = name;
  var wide = name === "hierarchy" || name === "time";  // charts need room; the map gives it some
  var changed = side.hidden || side.classList.contains("tm-wide") !== wide;
  side.classList.toggle("tm-wide", wide);
  side.hidden = false;
  var done = changed ? Plotly.Plots.resize(gd).then(placeLabels) : Promise.resolve();
  if (name === "hierarchy") drawHierarchy();
  if (name === "time") drawTime();
  return done;
}
function closePanel() {
  side.hidden = true; activeCluster = -1;
  Plotly.Plots.resize(gd).then(placeLabels);
}
side.querySelector(".tm-tabs").addEventListener("click", function (ev) {
  var t = ev.target.closest ? ev.target.closest("[data-tab]") : null;
  if (t) openPane(t.getAttribute("data-tab"));
});
byId("tm-side-close").addEventListener("click", closePanel);

// ---- a theme's card: its evidence and its place in the hierarchy ------------------------
function bar(share, cls) {
  var outer = el("span", { "class": "tm-bar " + (cls || "") }), inner = el("span");
  inner.style.width = Math.round(Math.max(0, Math.min(1, share)) * 100) + "%";
  outer.appendChild(inner);
  return outer;
}
function showCard(ci) {
  var c = C[ci]; activeCluster = ci;
  card.textContent = "";
  card.dataset.cluster = String(ci);
  var crumbs = el("div", { "class": "tm-crumbs" }), up = [], p = c.parent;
  while (p >= 0) { up.unshift(p); p = C[p].parent; }
  up.forEach(function (a) {
    crumbs.appendChild(button("tm-link tm-parent", C[a].title, function () { showCard(a); }));
    crumbs.appendChild(document.createTextNode(" › "));
  });
  if (up.length) card.appendChild(crumbs);
  card.appendChild(el("h2", { "class": "tm-title" }, c.title));
  var meta = ["level " + c.level, fmt(c.size) + " items (" + (100 * c.size / Math.max(N, 1)).toFixed(1) + "%)"];
  if (c.category) meta.push(c.category);
  card.appendChild(el("div", { "class": "tm-meta" }, meta.join(" · ")));
  if (c.strength !== null && c.strength !== undefined) {
    var st = el("div", { "class": "tm-strength" });
    st.appendChild(el("span", {}, "strength " + c.strength + "/10"));
    st.appendChild(bar(c.strength / 10, "tm-strength-bar"));
    card.appendChild(st);
  }
  var actions = el("div", { "class": "tm-actions" });
  actions.appendChild(button("tm-btn tm-select-cluster", "Select its " + fmt(c.size) + " items", function () { selectCluster(ci); }));
  actions.appendChild(button("tm-btn", "Zoom to it", function () { zoomTo(membersOf(ci)); }));
  card.appendChild(actions);
  if (c.summary) card.appendChild(el("p", { "class": "tm-summary" }, c.summary));
  if (c.keywords.length) {
    card.appendChild(el("h3", {}, "Key phrases · share of its items that mention them"));
    var list = el("div", { "class": "tm-keywords" });
    c.keywords.forEach(function (k, j) {
      var share = c.keyword_share ? c.keyword_share[j] : 0, lift = c.keyword_lift ? c.keyword_lift[j] : 0;
      var row = el("div", { "class": "tm-kw" });
      row.appendChild(el("span", { "class": "tm-kw-text tm-chip" }, k));
      row.appendChild(bar(share, "tm-kw-bar"));
      row.appendChild(el("span", { "class": "tm-kw-score" }, Math.round(share * 100) + "%" + (lift ? " ×" + lift : "")));
      row.title = Math.round(share * 100) + "% of its items mention it; " + lift + "× as often as all items";
      list.appendChild(row);
    });
    card.appendChild(list);
  }
  if (c.samples.length) {
    card.appendChild(el("h3", {}, "Representative items"));
    var ul = el("ul", { "class": "tm-samples" });
    c.samples.forEach(function (s, j) {
      var li = el("li"), at = c.reps ? c.reps[j] : -1;
      if (at >= 0) li.appendChild(button("tm-link tm-rep", s, function () { focusItem(at); }));
      else li.textContent = s;
      ul.appendChild(li);
    });
    card.appendChild(ul);
  }
  if (c.parent >= 0) {
    card.appendChild(el("h3", {}, "Inside"));
    card.appendChild(button("tm-link tm-parent", C[c.parent].title + " (" + fmt(C[c.parent].size) + ")", function () { showCard(c.parent); }));
  }
  if (kids[ci].length) {
    card.appendChild(el("h3", {}, "Sub-themes"));
    var sub = el("ul", { "class": "tm-children" });
    kids[ci].slice().sort(function (a, b) { return C[b].size - C[a].size; }).forEach(function (i) {
      var li = el("li");
      li.appendChild(button("tm-link tm-child", C[i].title + " (" + fmt(C[i].size) + ")", function () { showCard(i); }));
      li.appendChild(bar(C[i].size / Math.max(c.size, 1), "tm-child-bar"));
      sub.appendChild(li);
    });
    card.appendChild(sub);
  }
  openPane("theme").then(placeLabels);
}

// ---- one item: its whole text, id, themes, fields, and "more like this" -----------------
function showItem(i) {
  state.focus = i;
  itemPane.textContent = "";
  itemPane.dataset.item = String(i);
  itemPane.appendChild(el("h2", { "class": "tm-title" }, titleOf(i)));
  itemPane.appendChild(el("div", { "class": "tm-meta" }, "id " + I.id[i] + (I.t && I.t[i] ? " · " + I.t[i] : "")));
  var themes = el("div", { "class": "tm-item-themes" });
  D.levels.forEach(function (lv) {
    var c = clusterOf(i, lv);
    if (c < 0) return;
    themes.appendChild(el("span", { "class": "tm-level" }, "level " + lv));
    themes.appendChild(button("tm-link", C[c].title, function () { showCard(c); }));
  });
  itemPane.appendChild(themes);
  var actions = el("div", { "class": "tm-actions" });
  if (I.nb) actions.appendChild(button("tm-btn tm-more", "More like this", function () { moreLikeThis(i); }));
  actions.appendChild(button("tm-btn", "Zoom to it", function () { zoomTo([i]); }));
  itemPane.appendChild(actions);
  itemPane.appendChild(el("p", { "class": "tm-text" }, I.text[i]));
  var rows = F.filter(function (f) { return f.kind === "category" ? f.codes[i] >= 0 : f.values[i] !== null; });
  if (rows.length) {
    var dl = el("dl", { "class": "tm-fields" });
    rows.forEach(function (f) {
      dl.appendChild(el("dt", {}, f.name));
      dl.appendChild(el("dd", {}, f.kind === "category" ? f.values[f.codes[i]] : fmt(f.values[i])));
    });
    itemPane.appendChild(dl);
  }
  drawHighlight();
  return openPane("item");
}
function zoomTo(idx) {  // frame these items (robustly: their 2-98% range), at least a little
  if (!idx.length) return Promise.resolve();
  var xs = idx.map(function (i) { return I.x[i]; }).sort(function (a, b) { return a - b; });
  var ys = idx.map(function (i) { return I.y[i]; }).sort(function (a, b) { return a - b; });
  function q(a, p) { return a[Math.min(a.length - 1, Math.max(0, Math.round(p * (a.length - 1))))]; }
  var fl = gd._fullLayout, minSpan = home ? home.x / 12 : 1;
  var cx = (q(xs, 0.02) + q(xs, 0.98)) / 2, cy = (q(ys, 0.02) + q(ys, 0.98)) / 2;
  var sx = Math.max((q(xs, 0.98) - q(xs, 0.02)) * 1.3, minSpan), sy = Math.max((q(ys, 0.98) - q(ys, 0.02)) * 1.3, minSpan);
  // keep the page's aspect so plotly does not widen one axis past the items
  var aspect = fl ? fl._size.w / fl._size.h : 1;
  if (sx / sy < aspect) sx = sy * aspect; else sy = sx / aspect;
  return Plotly.relayout(gd, { "xaxis.range": [cx - sx / 2, cx + sx / 2], "yaxis.range": [cy - sy / 2, cy + sy / 2] });
}
function focusItem(i) {
  return showItem(i).then(function () { return zoomTo([i]); });
}
