/* part 9: the controls, the first draw, and the plot's events. */
var colourSel = byId("tm-colour");
(function controls() {
  var levels = el("optgroup", { label: "theme level" });
  D.levels.forEach(function (lv) {
    var opt = el("option", { value: "level:" + lv }, "level " + lv);
    if (lv === state.level) opt.selected = true;
    levels.appendChild(opt);
  });
  colourSel.appendChild(levels);
  if (F.length) {
    var fields = el("optgroup", { label: "field" });
    F.forEach(function (f, k) { fields.appendChild(el("option", { value: "field:" + k }, f.name)); });
    colourSel.appendChild(fields);
  }
  var cats = {};
  C.forEach(function (c) { if (c.category) cats[c.category] = true; });
  Object.keys(cats).sort().forEach(function (c) { catSel.appendChild(el("option", { value: c }, c)); });
  if (I.t) {
    var dates = I.t.filter(function (t) { return t; }).sort();
    if (dates.length) {
      byId("tm-dates").hidden = false;
      fromEl.min = toEl.min = dates[0]; fromEl.max = toEl.max = dates[dates.length - 1];
    }
  }
})();
colourSel.addEventListener("change", function () {
  state.colour = colourSel.value;
  drawLegend();
  var level = state.colour.indexOf("level:") === 0 ? Number(state.colour.slice(6)) : state.level;
  var update = {};
  if (level !== state.level) {  // hover names the item's theme at the colour level
    state.level = level; hover = null;
    if (state.category) return refilter();  // the category filter reads that level too
    update.text = [pick(hoverText(), state.visible)];
  }
  update["marker.color"] = [colours(state.visible)];  // only what changed goes to the GPU
  return Plotly.restyle(gd, update, [0]).then(placeLabels);
});

computeVisible();
countEl.textContent = fmt(N) + " items";
showSelection();
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
  gd.on("plotly_click", function (ev) {  // a point: that item, with its themes
    var p = ev.points && ev.points[0];
    if (p && p.pointIndex !== undefined) showItem(state.visible[p.pointIndex]);
  });
  gd.on("plotly_selected", function (ev) {  // lasso or box
    if (!ev || !ev.points || ownUpdate) return;
    var idx = ev.points.map(function (p) { return state.visible[p.pointIndex]; });
    setTimeout(function () { setSelection(idx, (gd._fullLayout.dragmode === "lasso" ? "lasso" : "box") + " on the map"); }, 0);
  });
  gd.on("plotly_deselect", function () { if (state.selected && !ownUpdate) clearSelection(); });
  window.addEventListener("resize", function () { Plotly.Plots.resize(gd).then(placeLabels); });
  document.body.dataset.ready = "1";
  document.body.dataset.renderMs = String(Math.round(performance.now() - t0));
});
window.thememapMap = {
  gd: gd, state: state, showCard: showCard, showItem: showItem, placeLabels: placeLabels,
  setSelection: setSelection, selectCluster: selectCluster, selectionCsv: selectionCsv
};
