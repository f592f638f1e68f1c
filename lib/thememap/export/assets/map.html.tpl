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
    <input id="tm-search" type="search" placeholder="Search items…" aria-label="Search items">
    <span id="tm-count"></span>
    <label>Colour by <select id="tm-level" aria-label="Colour by level"></select></label>
    <label>Category <select id="tm-category" aria-label="Category"><option value="">all</option></select></label>
    <span id="tm-names" title="Zoom in for the names of finer themes, out for coarser ones"></span>
    <span id="tm-dates" hidden>
      <label>From <input id="tm-from" type="date"></label>
      <label>to <input id="tm-to" type="date"></label>
    </span>
  </div>
  <div id="tm-main">
    <div id="tm-stage"><div id="tm-plot"></div><canvas id="tm-highlight"></canvas><div id="tm-labels"></div></div>
    <aside id="tm-card" hidden aria-live="polite"></aside>
  </div>
</div>
<script type="application/json" id="tm-data">@@DATA@@</script>
<script>@@APP@@</script>
</body>
</html>
