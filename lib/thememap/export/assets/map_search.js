/* part 5: full-text search with a results list, "more like this", and the filters. */
var searchBox = byId("tm-search"), countEl = byId("tm-count"), resultsPane = byId("tm-results");
var catSel = byId("tm-category"), fromEl = byId("tm-from"), toEl = byId("tm-to");
var MAX_ROWS = 200;  // rows listed; the map highlights every match
var index = null;
function searchIndex() {  // built on the first search only: lowercase title + whole text + id
  if (index) return index;
  index = new Array(N);
  for (var i = 0; i < N; i++) {
    index[i] = ((I.title && I.title[i] ? I.title[i] + "\n" : "") + I.text[i] + "\n" + I.id[i]).toLowerCase();
  }
  return index;
}
function itemRow(i, extra) {  // one clickable row: title (or first words), id, its theme
  var row = button("tm-row", "", function () { focusItem(i); });
  row.setAttribute("data-item", String(i));
  row.appendChild(el("span", { "class": "tm-row-title" }, titleOf(i)));
  var c = clusterOf(i, state.level);
  row.appendChild(el("span", { "class": "tm-row-meta" }, "id " + I.id[i] + (c >= 0 ? " · " + C[c].title : "") + (extra || "")));
  return row;
}
function listItems(pane, idx, heading) {
  var list = el("div", { "class": "tm-rows" });
  idx.slice(0, MAX_ROWS).forEach(function (i) { list.appendChild(itemRow(i)); });
  pane.appendChild(el("h2", { "class": "tm-title" }, heading));
  if (idx.length > MAX_ROWS) pane.appendChild(el("div", { "class": "tm-meta" }, "the first " + MAX_ROWS + " listed; all " + fmt(idx.length) + " highlighted on the map"));
  pane.appendChild(list);
}
function showResults(idx, heading) {
  resultsPane.textContent = "";
  resultsPane.dataset.count = String(idx.length);
  listItems(resultsPane, idx, heading);
  return openPane("results");
}
function runSearch() {
  var q = searchBox.value.trim().toLowerCase();
  state.query = q; state.highlight = [];
  var shown = Promise.resolve();
  if (q) {
    var terms = q.split(/\s+/), ix = searchIndex(), v = state.visible, first = [], rest = [];
    for (var k = 0; k < v.length; k++) {
      var text = ix[v[k]], all = true;
      for (var j = 0; j < terms.length && all; j++) all = text.indexOf(terms[j]) !== -1;
      if (!all) continue;
      // the whole query in the title or first words ranks first
      (titleOf(v[k]).toLowerCase().indexOf(q) !== -1 ? first : rest).push(v[k]);
    }
    state.highlight = first.concat(rest);
    state.highlightLabel = "search";
    var n = state.highlight.length;
    countEl.textContent = fmt(n) + " match" + (n === 1 ? "" : "es");
    shown = showResults(state.highlight, fmt(n) + " match" + (n === 1 ? "" : "es") + " for “" + searchBox.value.trim() + "”");
  } else {
    countEl.textContent = fmt(state.visible.length) + " items";
    if (side.dataset.pane === "results" && state.highlightLabel === "search") resultsPane.textContent = "";
  }
  drawHighlight();
  // opening the results pane narrows the map: the marks are final once plotly has resized
  return shown.then(function () { document.body.dataset.matches = String(state.highlight.length); });
}
function moreLikeThis(i) {  // the item's nearest neighbours by embedding, computed at export
  var k = I.nb.k, near = I.nb.idx.slice(i * k, i * k + k).filter(function (j) { return j >= 0; });
  state.highlight = [i].concat(near); state.highlightLabel = "like";
  drawHighlight();
  return showResults(near, "Like “" + firstWords(titleOf(i), 60) + "”").then(function () {
    document.body.dataset.matches = String(near.length);
  });
}
var timer = null;
searchBox.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(runSearch, 150); });
function refilter() {
  state.category = catSel.value; state.from = fromEl.value; state.to = toEl.value;
  computeVisible();
  return redraw().then(function () {
    runSearch();
    if (side.dataset.pane === "time" && !side.hidden) drawTime();  // the chart follows the dates
  });
}
catSel.addEventListener("change", refilter);
fromEl.addEventListener("change", refilter);
toEl.addEventListener("change", refilter);
