#!/usr/bin/env bash
# Refreshes the dashboard's vendored front-end files from the npm registry:
# packs each package into a temporary directory, copies its dist files into
# crates/server/assets/vendor/ and records the versions in VERSIONS.
# The binary embeds these files; nothing is fetched at run time and Node is
# not needed to run the tracker, only to run this script.
#
#   scripts/vendor-assets.sh            # the versions pinned below
#   HTMX=2.0.11 UPLOT=1.6.32 scripts/vendor-assets.sh
set -euo pipefail
cd "$(dirname "$0")/.."
HTMX="${HTMX:-2.0.11}"
UPLOT="${UPLOT:-1.6.32}"
out=crates/server/assets/vendor
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "htmx.org@$HTMX" "uplot@$UPLOT" >/dev/null)
for t in "$tmp"/*.tgz; do
  d="$tmp/$(basename "$t" .tgz)"
  mkdir -p "$d" && tar -xzf "$t" -C "$d"
done
mkdir -p "$out"
cp "$tmp"/htmx.org-*/package/dist/htmx.min.js "$out/htmx.min.js"
cp "$tmp"/uplot-*/package/dist/uPlot.iife.min.js "$out/uPlot.iife.min.js"
cp "$tmp"/uplot-*/package/dist/uPlot.min.css "$out/uPlot.min.css"
cp "$tmp"/uplot-*/package/LICENSE "$out/uPlot.LICENSE"
cp "$tmp"/htmx.org-*/package/LICENSE "$out/htmx.LICENSE"
{
  echo "# written by scripts/vendor-assets.sh; package@version sha256 file"
  for f in htmx.min.js uPlot.iife.min.js uPlot.min.css; do
    case "$f" in htmx*) p="htmx.org@$HTMX" ;; *) p="uplot@$UPLOT" ;; esac
    echo "$p $(sha256sum "$out/$f" | cut -c1-64) $f"
  done
} > "$out/VERSIONS"
cat "$out/VERSIONS"
