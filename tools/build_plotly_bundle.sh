#!/usr/bin/env bash
# Build the map page's plotly.js partial bundle (issue 12, "lighter pages"):
# plotly.js's lib/core (scatter included) + lib/scattergl + lib/treemap, registered with
# Plotly.register (plotly.js's CUSTOM_BUNDLE.md way) and bundled + minified by esbuild with
# the settings of plotly.js's own esbuild-config.js (iife, global Plotly, es2016,
# global=window, regl -> @plotly/regl). Versions are pinned in tools/plotly_bundle/package.json
# and package-lock.json; plotly.js matches the plotly Python package's (get_plotlyjs_version).
#
# Writes lib/thememap/export/assets/plotly-thememap.min.js and plotly-thememap.LICENSE.txt
# (plotly.js's MIT licence from the npm package). Needs node + npm (only to rebuild: the
# built bundle is committed and ships in the wheel). plotly.js 4 asks for Node 22 (npm warns
# EBADENGINE on 20); the committed bundle was built with Node 20.20 and a fresh `npm ci` build
# reproduces it byte for byte. The overrides in package.json repeat plotly.js's own (to-px
# 1.0.1: 1.1.0 reads document.body while the page's <head> loads). After a plotly upgrade
# (requirements.lock), set plotly.js in package.json to get_plotlyjs_version(), `npm install`
# there to refresh the lock, and rerun this; tests/test_plotly_bundle.py checks they agree.
#
#     bash tools/build_plotly_bundle.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/tools/plotly_bundle"
OUT="$ROOT/lib/thememap/export/assets"

cd "$SRC"
npm ci --ignore-scripts --no-audit --no-fund

PLOTLY_VERSION="$(node -p "require('plotly.js/package.json').version")"
ESBUILD_VERSION="$(node -p "require('esbuild/package.json').version")"
BANNER="/*! plotly.js v$PLOTLY_VERSION partial bundle for thememap: core (scatter), scattergl, treemap. (c) Plotly, Inc. MIT licence: plotly-thememap.LICENSE.txt. Built by tools/build_plotly_bundle.sh with esbuild $ESBUILD_VERSION. */"

# the maplibre-gl CSS that src/registry.js requires for map traces is left out
# (--loader:.css=empty): no map trace is registered here
node_modules/.bin/esbuild entry.js \
    --bundle --minify --format=iife --global-name=Plotly --target=es2016 \
    --define:global=window --define:define.amd=false --define:process.env.NODE_DEBUG=false \
    --alias:regl=@plotly/regl --loader:.css=empty \
    --legal-comments=eof --banner:js="$BANNER" \
    --log-level=warning \
    --outfile="$OUT/plotly-thememap.min.js"

cp node_modules/plotly.js/LICENSE "$OUT/plotly-thememap.LICENSE.txt"
ls -l "$OUT/plotly-thememap.min.js" "$OUT/plotly-thememap.LICENSE.txt"
