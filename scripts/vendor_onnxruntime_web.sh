#!/usr/bin/env bash
# Re-vendor ONNX Runtime Web from npm into genlab/web/vendor/onnxruntime-web (run by hand when upgrading;
# the app and the tests use the committed copy and never reach npm or a CDN).
# Only the WebAssembly CPU build is kept: the ES-module bundle (its Emscripten glue inside) and the
# SIMD wasm, gzipped (14.2 MB -> 3.7 MB; the page un-gzips it with DecompressionStream), so that no
# file is over the Hugging Face Hub's 10 MB limit for plain git files.
set -euo pipefail
VERSION=${1:-1.30.0}
DEST="$(cd "$(dirname "$0")/.." && pwd)/genlab/web/vendor/onnxruntime-web"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack "onnxruntime-web@$VERSION" >/dev/null && tar xzf "onnxruntime-web-$VERSION.tgz")
cp "$TMP/package/dist/ort.wasm.bundle.min.mjs" "$DEST/"
gzip -9 -n -c "$TMP/package/dist/ort-wasm-simd-threaded.wasm" > "$DEST/ort-wasm-simd-threaded.wasm.gz"
(cd "$DEST" && sha256sum ort.wasm.bundle.min.mjs ort-wasm-simd-threaded.wasm.gz)
echo "vendored onnxruntime-web $VERSION into $DEST; update its README.md"
