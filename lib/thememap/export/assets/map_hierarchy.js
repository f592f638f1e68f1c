/* part 7: the hierarchy as a treemap (sized by items, coloured by category); a click on a
   theme selects its items on the map (and zooms the treemap into it). */
var treeDiv = byId("tm-tree"), treeDrawn = false;
function categoryColours() {
  var cats = {}, names = [];
  C.forEach(function (c) { if (c.category && !cats[c.category]) { cats[c.category] = true; names.push(c.category); } });
  names.sort();
  var out = {};
  names.forEach(function (n, k) { out[n] = O.palette[k % O.palette.length]; });
  return out;
}
function drawHierarchy() {
  if (treeDrawn) return Plotly.Plots.resize(treeDiv);
  treeDrawn = true;
  var colourOfCat = categoryColours(), value = C.map(function (c) { return c.size; });
  // a parent is at least the sum of its children (branchvalues "total" needs it)
  for (var k = D.levels.length - 1; k >= 0; k--) {
    C.forEach(function (c, i) {
      if (c.level !== D.levels[k]) return;
      var sum = kids[i].reduce(function (a, j) { return a + value[j]; }, 0);
      value[i] = Math.max(value[i], sum);
    });
  }
  var trace = {
    type: "treemap", branchvalues: "total", maxdepth: 3,
    ids: C.map(function (c, i) { return "c" + i; }),
    parents: C.map(function (c) { return c.parent >= 0 ? "c" + c.parent : ""; }),
    labels: C.map(function (c) { return escape(c.title); }),
    values: value,
    customdata: C.map(function (c) { return escape(c.category || "no category"); }),
    marker: { colors: C.map(function (c) { return c.category ? colourOfCat[c.category] : c.color; }), line: { width: 1, color: "#fff" } },
    textinfo: "label+value", hovertemplate: "<b>%{label}</b><br>%{value} items<br>%{customdata}<extra></extra>"
  };
  var legend = byId("tm-tree-legend");
  legend.textContent = "";
  Object.keys(colourOfCat).forEach(function (name) {
    var chip = el("span", { "class": "tm-legend-row" }), sw = el("span", { "class": "tm-swatch" });
    sw.style.background = colourOfCat[name];
    chip.appendChild(sw); chip.appendChild(el("span", {}, name));
    legend.appendChild(chip);
  });
  return Plotly.newPlot(treeDiv, [trace], { margin: { l: 2, r: 2, t: 28, b: 2 } },
                        { displaylogo: false, responsive: true }).then(function () {
    treeDiv.on("plotly_treemapclick", function (ev) {
      var p = ev.points && ev.points[0];
      if (p && p.pointNumber !== undefined) selectCluster(p.pointNumber, true);
    });
    document.body.dataset.tree = "1";
  });
}
byId("tm-open-tree").addEventListener("click", function () { openPane("hierarchy"); });
