/* thememap map page, part 1: data, helpers and shared state.
   All item text, theme names and metadata are untrusted: they reach the page only through
   textContent, or (plotly's hover and treemap, which read a small HTML subset) after escape().
   The map_*.js files share one function scope (map.py wraps them in one IIFE). */
var D = JSON.parse(document.getElementById("tm-data").textContent);
var O = D.options, C = D.clusters, I = D.items, N = I.x.length;
var F = I.fields || [];
function byId(id) { return document.getElementById(id); }
var gd = byId("tm-plot");
var state = {
  level: O.level, colour: "level:" + O.level, category: "", from: "", to: "",
  visible: null,          // item indices shown (filters applied), in draw order
  query: "", highlight: [], highlightLabel: "",  // search matches or "more like this"
  focus: -1,              // the item shown in the item panel (ringed on the map)
  selected: null, selectedLabel: ""  // Uint8Array flags of selected items, or null
};
var kids = C.map(function () { return []; });
C.forEach(function (c, i) { if (c.parent >= 0) kids[c.parent].push(i); });

var UNSAFE = /[&<>"']/;
function escape(s) {  // for plotly's text (a small HTML subset): numeric entities, which it decodes
  s = String(s);
  if (!UNSAFE.test(s)) return s;  // most text: one scan, no copies (100k hover texts at start)
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&#34;").replace(/'/g, "&#39;");
}
function wrapLines(s, width) {  // words into lines of at most ~width characters
  var words = String(s).split(/\s+/), lines = [], line = "";
  for (var i = 0; i < words.length; i++) {
    if (line && (line + " " + words[i]).length > width) { lines.push(line); line = words[i]; }
    else line = line ? line + " " + words[i] : words[i];
  }
  if (line) lines.push(line);
  return lines;
}
function wrap(s, width) { return wrapLines(s, width).map(escape).join("<br>"); }  // for plotly hover
function el(tag, attrs, text) {
  var node = document.createElement(tag);
  for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}
function button(cls, text, onclick) {
  var b = el("button", { "class": cls, type: "button" }, text);
  b.addEventListener("click", onclick);
  return b;
}
function clusterOf(i, level) { var c = I.c[String(level)]; return c ? c[i] : -1; }
function categoryOf(i) {
  for (var lv = state.level; lv >= 1; lv--) {
    var c = clusterOf(i, lv);
    if (c >= 0 && C[c].category) return C[c].category;
  }
  return "";
}
function firstWords(s, n) {
  s = String(s).slice(0, 2 * n + 40).replace(/\s+/g, " ").trim();  // never the whole text
  if (s.length <= n) return s;
  var cut = s.lastIndexOf(" ", n);
  return s.slice(0, cut > n * 0.6 ? cut : n) + "…";
}
function titleOf(i) { return (I.title && I.title[i]) || firstWords(I.text[i], 90); }
function themeNames(i) {
  return D.levels.map(function (lv) { var c = clusterOf(i, lv); return c >= 0 ? C[c].title : ""; });
}
function fmt(n) { return Number(n).toLocaleString(); }
function membersOf(ci) {  // visible items of cluster ci
  var col = I.c[String(C[ci].level)], v = state.visible, out = [];
  for (var k = 0; k < v.length; k++) if (col[v[k]] === ci) out.push(v[k]);
  return out;
}
