#!/usr/bin/env bash
# Regenerates every app icon (PNG in each size, .ico, .icns) from the one source,
# icons/app-icon.png, with the pinned Tauri CLI, and the macOS tray template (black on
# transparent) from icons/tray.png. The results are committed; run after changing a source.
set -euo pipefail
cd "$(dirname "$0")/.."
TAURI=scripts/tauri-cli/node_modules/.bin/tauri
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$TAURI" icon icons/app-icon.png -o "$out/default" >"$out/log" 2>&1 || { cat "$out/log"; exit 1; }
"$TAURI" icon icons/app-icon.png -o "$out/extra" -p 16,24,48,64,256 >"$out/log" 2>&1 || { cat "$out/log"; exit 1; }
cp "$out"/default/{32x32.png,128x128.png,128x128@2x.png,icon.png,icon.icns,icon.ico} icons/
cp "$out"/extra/{16x16.png,24x24.png,48x48.png,64x64.png,256x256.png} icons/
# macOS shows tray icons as templates: only the alpha channel counts, drawn in the menu
# bar's colour.
convert icons/tray.png -fill black -colorize 100 icons/tray-template.png
echo "icons: regenerated from icons/app-icon.png"
