#!/bin/sh
# Everything CI runs, in one go: the Rust tests, the Python tool, the page renderer.
set -eu
cd "$(dirname "$0")/.."

echo "== cargo test"
cargo test --quiet

echo "== python tools"
python3 -m py_compile tools/*.py

echo "== web page"
if command -v node >/dev/null 2>&1; then
    cargo run --quiet -- export | node web/shelf.js > /dev/null
else
    echo "node not found; skipping web/shelf.js"
fi

echo "all good"
