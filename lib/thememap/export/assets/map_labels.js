/* part 3: theme names that follow zoom: wrapped to a few lines, kept inside the view, the
   largest theme first and none overlapping. */
var labelsLayer = byId("tm-labels"), levelNote = byId("tm-names");
var home = null, activeCluster = -1;
var LABEL_WIDTH = 170, LINE_H = 15, FONT = "600 12px system-ui, sans-serif";
var measure = document.createElement("canvas").getContext("2d");
function labelLines(c) {  // measured once per theme: lines that fit LABEL_WIDTH pixels
  if (c._lines) return c._lines;
  measure.font = FONT;
  var words = String(c.title).split(/\s+/), lines = [], line = "";
  for (var i = 0; i < words.length; i++) {
    var next = line ? line + " " + words[i] : words[i];
    if (line && measure.measureText(next).width > LABEL_WIDTH) { lines.push(line); line = words[i]; }
    else line = next;
  }
  if (line) lines.push(line);
  if (lines.length > 3) lines = lines.slice(0, 2).concat([firstWords(lines.slice(2).join(" "), 24)]);
  c._lines = lines;
  c._w = Math.min(LABEL_WIDTH, Math.max.apply(null, lines.map(function (l) { return measure.measureText(l).width; }))) + 16;
  c._h = lines.length * LINE_H + 4;
  return lines;
}
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
    var lines = labelLines(c), w = c._w, h = c._h;
    // near an edge the name moves inward, so it is never cut by the view
    px = Math.max(s.l + w / 2 + 2, Math.min(s.l + s.w - w / 2 - 2, px));
    py = Math.max(s.t + h / 2 + 2, Math.min(s.t + s.h - h / 2 - 2, py));
    var box = [px - w / 2 - 2, py - h / 2 - 2, px + w / 2 + 2, py + h / 2 + 2];
    var clash = boxes.some(function (b) { return box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3]; });
    if (clash) continue;
    boxes.push(box); placed++;
    var btn = el("button", { "class": "tm-label", type: "button", "data-cluster": String(order[j]) }, lines.join("\n"));
    btn.title = c.title;
    btn.style.left = px + "px"; btn.style.top = py + "px"; btn.style.width = w + "px";
    if (order[j] === activeCluster) btn.classList.add("tm-active");
    labelsLayer.appendChild(btn);
  }
}
labelsLayer.addEventListener("click", function (ev) {
  var t = ev.target.closest ? ev.target.closest(".tm-label") : null;
  if (t) showCard(Number(t.getAttribute("data-cluster")));
});
