#!/usr/bin/env bash
# Re-vendor ONNX Runtime Web from npm into genlab/web/vendor/onnxruntime-web (run by hand when upgrading;
# the app and the tests use the committed copy and never reach npm or a CDN).
# Two builds are kept, each an ES-module bundle (its Emscripten glue inside) and its wasm, gzipped so that no
# file is over the Hugging Face Hub's 10 MB limit for plain git files (the page un-gzips with DecompressionStream):
# - the WebAssembly CPU build (14.2 MB -> 3.7 MB), what every browser runs;
# - the WebGPU build (its asyncify wasm, 26.8 MB -> 6.6 MB), fetched only by a page whose browser offers a
#   WebGPU adapter.
set -euo pipefail
VERSION=${1:-1.30.0}
DEST="$(cd "$(dirname "$0")/.." && pwd)/genlab/web/vendor/onnxruntime-web"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack "onnxruntime-web@$VERSION" >/dev/null && tar xzf "onnxruntime-web-$VERSION.tgz")
cp "$TMP/package/dist/ort.wasm.bundle.min.mjs" "$TMP/package/dist/ort.webgpu.bundle.min.mjs" "$DEST/"
gzip -9 -n -c "$TMP/package/dist/ort-wasm-simd-threaded.wasm" > "$DEST/ort-wasm-simd-threaded.wasm.gz"
gzip -9 -n -c "$TMP/package/dist/ort-wasm-simd-threaded.asyncify.wasm" > "$DEST/ort-wasm-simd-threaded.asyncify.wasm.gz"
(cd "$TMP/package/dist" && sha256sum ort-wasm-simd-threaded.wasm ort-wasm-simd-threaded.asyncify.wasm)
(cd "$DEST" && sha256sum ort.wasm.bundle.min.mjs ort.webgpu.bundle.min.mjs ort-wasm-simd-threaded.wasm.gz \
  ort-wasm-simd-threaded.asyncify.wasm.gz)
echo "vendored onnxruntime-web $VERSION into $DEST; update its README.md"
