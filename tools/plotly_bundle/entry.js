// The map page's plotly.js: core (scatter included) + scattergl + treemap, nothing else.
// Built by tools/build_plotly_bundle.sh into lib/thememap/export/assets/plotly-thememap.min.js
'use strict';

var Plotly = require('plotly.js/lib/core');

Plotly.register([require('plotly.js/lib/scattergl'), require('plotly.js/lib/treemap')]);

module.exports = Plotly;
