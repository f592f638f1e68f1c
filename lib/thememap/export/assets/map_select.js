/* part 6: the selection (lasso, box, a theme, a legend value): listed with a count,
   downloaded as CSV, ids copied. */
var selPane = byId("tm-selection"), selCount = byId("tm-selcount");
var ownUpdate = false;  // our own clearing of plotly's selection fires plotly_deselect: not the user's
function plotSelection() {
  ownUpdate = true;
  return Plotly.update(gd, { selectedpoints: [selectedPositions()] }, { selections: [] })
    .then(function () { ownUpdate = false; }, function (e) { ownUpdate = false; throw e; });
}
function selectedItems() {
  var out = [];
  if (state.selected) for (var i = 0; i < N; i++) if (state.selected[i]) out.push(i);
  return out;
}
function setSelection(idx, label, stay) {  // stay: keep the panel on its current tab
  if (!idx || !idx.length) return clearSelection();
  state.selected = new Uint8Array(N);
  idx.forEach(function (i) { state.selected[i] = 1; });
  state.selectedLabel = label;
  // plotly keeps the lasso's outline (layout.selections) and would re-apply it on the
  // next redraw; the selection is ours from here on
  return plotSelection().then(function () { showSelection(); return stay ? null : openPane("selection"); });
}
function clearSelection() {
  state.selected = null; state.selectedLabel = "";
  showSelection();
  return plotSelection();
}
function selectWhere(test, label) {
  var v = state.visible, idx = [];
  for (var k = 0; k < v.length; k++) if (test(v[k])) idx.push(v[k]);
  return setSelection(idx, label);
}
function selectCluster(ci, stay) { return setSelection(membersOf(ci), "theme: " + C[ci].title, stay); }

function showSelection() {
  var idx = selectedItems();
  selPane.textContent = "";
  selPane.dataset.count = String(idx.length);
  selCount.textContent = idx.length ? fmt(idx.length) : "";
  document.body.dataset.selected = String(idx.length);
  if (!idx.length) {
    selPane.appendChild(el("p", { "class": "tm-meta" }, "Nothing selected. Use the lasso or box in the map's toolbar, a theme's “Select” button, the hierarchy, or a legend entry."));
    return;
  }
  selPane.appendChild(el("div", { "class": "tm-meta tm-sel-what" }, state.selectedLabel));
  var actions = el("div", { "class": "tm-actions" });
  actions.appendChild(button("tm-btn tm-csv", "Download CSV", function () { downloadCsv(idx); }));
  actions.appendChild(button("tm-btn tm-copy", "Copy ids", function () { copyIds(idx); }));
  actions.appendChild(button("tm-btn tm-clear", "Clear", clearSelection));
  selPane.appendChild(actions);
  listItems(selPane, idx, fmt(idx.length) + " selected");
  var rows = selPane.querySelectorAll(".tm-row");
  for (var r = 0; r < rows.length; r++) {  // each row: its themes at every level too
    var i = Number(rows[r].getAttribute("data-item"));
    rows[r].appendChild(el("span", { "class": "tm-row-themes" }, themeNames(i).filter(Boolean).join(" › ")));
  }
}

// ---- CSV: RFC 4180 quoting; a cell a spreadsheet would run as a formula (= + - @, tab,
// CR) gets a leading ' (OWASP), plain numbers excepted: the rule of safe.spreadsheet_safe
var NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
function csvCell(v) {
  var s = v === null || v === undefined ? "" : String(v);
  if (/^[=+\-@\t\r]/.test(s) && !NUMBER.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}
function selectionCsv(idx) {
  var head = ["id"].concat(I.title ? ["title"] : [], ["text"], I.t ? ["created_at"] : [],
    D.levels.map(function (lv) { return "theme_l" + lv; }));
  var lines = [head.map(csvCell).join(",")];
  idx.forEach(function (i) {
    var row = [I.id[i]].concat(I.title ? [I.title[i]] : [], [I.text[i]], I.t ? [I.t[i]] : [], themeNames(i));
    lines.push(row.map(csvCell).join(","));
  });
  return lines.join("\r\n") + "\r\n";
}
function downloadCsv(idx) {
  var blob = new Blob([selectionCsv(idx)], { type: "text/csv;charset=utf-8" });
  var a = el("a", { download: "thememap-selection.csv" });
  a.href = URL.createObjectURL(blob);
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
}
function copyIds(idx) {
  var text = idx.map(function (i) { return I.id[i]; }).join("\n");
  function done(ok) {
    document.body.dataset.copied = ok ? String(idx.length) : "failed";
    var note = selPane.querySelector(".tm-copied") || selPane.insertBefore(el("div", { "class": "tm-meta tm-copied" }), selPane.children[2] || null);
    note.textContent = ok ? fmt(idx.length) + " ids copied" : "the browser refused the clipboard";
  }
  function fallback() {  // an iframe or an old browser without the async clipboard
    var area = el("textarea");
    area.value = text; area.style.position = "fixed"; area.style.opacity = "0";
    document.body.appendChild(area); area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove(); done(ok);
  }
  if (navigator.clipboard && navigator.clipboard.writeText) {
    navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
  } else fallback();
}
byId("tm-open-sel").addEventListener("click", function () { showSelection(); openPane("selection"); });
