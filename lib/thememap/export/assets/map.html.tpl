<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@@TITLE@@</title>
<style>@@CSS@@</style>
<script>@@PLOTLYJS@@</script>
</head>
<body>
<div id="tm-app">
  <div id="tm-bar">
    <input id="tm-search" type="search" placeholder="Search all text…" aria-label="Search items">
    <span id="tm-count"></span>
    <label>Colour by <select id="tm-colour" aria-label="Colour by"></select></label>
    <label>Category <select id="tm-category" aria-label="Category"><option value="">all</option></select></label>
    <span id="tm-dates" hidden>
      <label>From <input id="tm-from" type="date"></label>
      <label>to <input id="tm-to" type="date"></label>
    </span>
    <span id="tm-names" title="Zoom in for the names of finer themes, out for coarser ones"></span>
    <span class="tm-spacer"></span>
    <button id="tm-open-time" class="tm-btn" type="button" hidden>Over time</button>
    <button id="tm-open-tree" class="tm-btn" type="button">Hierarchy</button>
    <button id="tm-open-sel" class="tm-btn" type="button">Selection <span id="tm-selcount"></span></button>
  </div>
  <div id="tm-main">
    <div id="tm-stage"><div id="tm-plot"></div><canvas id="tm-highlight"></canvas><div id="tm-labels"></div><div id="tm-legend" hidden></div></div>
    <aside id="tm-side" hidden aria-live="polite">
      <div class="tm-tabs" role="tablist">
        <button type="button" role="tab" data-tab="theme">Theme</button>
        <button type="button" role="tab" data-tab="item">Item</button>
        <button type="button" role="tab" data-tab="results">Results</button>
        <button type="button" role="tab" data-tab="selection">Selection</button>
        <button type="button" role="tab" data-tab="hierarchy">Hierarchy</button>
        <button type="button" role="tab" data-tab="time" hidden>Time</button>
        <button type="button" id="tm-side-close" class="tm-close" aria-label="Close">×</button>
      </div>
      <section id="tm-card" class="tm-pane" hidden></section>
      <section id="tm-item" class="tm-pane" hidden></section>
      <section id="tm-results" class="tm-pane" hidden></section>
      <section id="tm-selection" class="tm-pane" hidden></section>
      <section id="tm-hierarchy" class="tm-pane" hidden><div id="tm-tree-legend"></div><div id="tm-tree"></div></section>
      <section id="tm-time" class="tm-pane" hidden></section>
    </aside>
  </div>
</div>
<script type="application/json" id="tm-data">@@DATA@@</script>
<script>@@APP@@</script>
</body>
</html>
