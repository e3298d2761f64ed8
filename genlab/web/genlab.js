// genlab's in-page generators: the GAN tab's sliders and the VAE tab's t slider redraw in the
// browser, with ONNX Runtime Web (WebAssembly, vendored next to this file), on every `input` event.
//
// The server sends a "spec" (genlab/web/__init__.py): the exported graph's URL and the seed's latents and
// SeFa directions as float32 data, so this file never re-implements a random number generator. It
// does the same arithmetic as genlab/tasks/sampling.py (z * psi + offsets @ directions) and draws the same
// grid as genlab/images.py:to_pil_grid. Where WebAssembly or the graph is not available, it says
// so in a note and the tab falls back to the server's /sample endpoint.
//
// window.genlab.gan.timings / window.genlab.vae.timings: milliseconds from a slider's input event to
// the animation frame that shows its picture; .written: to the pixels written on the canvas;
// .inFirstFrame: whether the picture was shown in the first frame after the input (read by the
// tests and benchmarks/browser_sliders.py).

const ORT_DIR = new URL("vendor/onnxruntime-web/", import.meta.url);
const sessions = new Map(); // graph URL -> Promise<{ ort, s }>
const params = new URLSearchParams(location.search);

// How the page computes, read by the tests and the benchmark; the note under a picture says it.
// - backend: "webgpu" where the browser offers a WebGPU adapter and the graph loads on it, else "wasm"
//   (?genlab_backend=wasm asks for WebAssembly); webgpuError: why not WebGPU, when it was not.
// - threads: WebAssembly threads, up to 4 and never more than the machine's cores; threads need
//   SharedArrayBuffer, i.e. a cross-origin-isolated page: the app sends COOP/COEP headers
//   (genlab/ui CrossOriginIsolation); a page that is not isolated (in an embedding frame, Safari) uses one.
//   ?genlab_threads=N asks for fewer (benchmarks/browser_sliders.py compares 1 and 2).
const maxThreads = globalThis.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
const askedThreads = parseInt(params.get("genlab_threads") || "", 10);
const runtime = {
  isolated: Boolean(globalThis.crossOriginIsolated),
  threads: askedThreads >= 1 ? Math.min(askedThreads, maxThreads) : maxThreads,
  backend: params.get("genlab_backend") === "wasm" ? "wasm" : "auto",
  webgpuError: params.get("genlab_backend") === "wasm" ? "WebAssembly was asked for (?genlab_backend=wasm)" : "",
};

// A vendored wasm file's bytes (un-gzipped here unless the server already did).
async function wasmBytes(name) {
  const resp = await fetch(new URL(name, ORT_DIR));
  if (!resp.ok) throw new Error(`the runtime's wasm file answered HTTP ${resp.status}`);
  let bytes = new Uint8Array(await resp.arrayBuffer());
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) { // gzip magic
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  }
  return bytes;
}

async function loadBuild(bundle, wasm) {
  if (typeof WebAssembly !== "object") throw new Error("this browser has no WebAssembly");
  const ort = await import(new URL(bundle, ORT_DIR).href);
  ort.env.wasm.wasmBinary = await wasmBytes(wasm);
  ort.env.wasm.numThreads = runtime.threads;
  ort.env.logLevel = "error";
  return ort;
}

let cpuPromise = null, gpuPromise = null;
const loadCpu = () => (cpuPromise ||= loadBuild("ort.wasm.bundle.min.mjs", "ort-wasm-simd-threaded.wasm.gz"));
// The WebGPU build (6.6 MB more) is fetched only where the browser offers an adapter.
const loadGpu = () => (gpuPromise ||= (async () => {
  if (!navigator.gpu) throw new Error("this browser has no WebGPU");
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error("WebGPU offers no adapter here");
  const ort = await loadBuild("ort.webgpu.bundle.min.mjs", "ort-wasm-simd-threaded.asyncify.wasm.gz");
  ort.env.webgpu.adapter = adapter;
  return ort;
})());

// A session for a graph: on WebGPU while it works, else on the CPU. A WebGPU failure (no adapter, the build or the
// graph refused) moves this page to WebAssembly for good, and says why (runtime.webgpuError).
async function createSession(bytes) {
  if (runtime.backend !== "wasm") {
    try {
      const ort = await loadGpu();
      const s = await ort.InferenceSession.create(bytes, { executionProviders: ["webgpu"], graphOptimizationLevel: "all" });
      runtime.backend = "webgpu";
      return { ort, s };
    } catch (e) {
      runtime.backend = "wasm";
      runtime.webgpuError = String((e && e.message) || e);
    }
  }
  const ort = await loadCpu();
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  return { ort, s };
}

const warmed = new WeakSet(); // sessions that have drawn once
// every note of the page path starts "Drawn in this browser"
const inPage = () => (runtime.backend === "webgpu" ? "Drawn in this browser (ONNX Runtime Web, WebGPU)"
  : `Drawn in this browser (ONNX Runtime Web, WebAssembly, ${runtime.threads} thread${runtime.threads > 1 ? "s" : ""})`);

function session(url) {
  if (!sessions.has(url)) {
    sessions.set(url, (async () => {
      const resp = await fetch(url);
      if (!resp.ok) throw new Error(`the model graph answered HTTP ${resp.status}`);
      return createSession(new Uint8Array(await resp.arrayBuffer()));
    })());
    sessions.get(url).catch(() => sessions.delete(url)); // a failed load is retried on the next spec
  }
  return sessions.get(url);
}

function floats(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

// images (n, C, R, R) in [-1, 1] -> RGBA pixels of torchvision's make_grid (padding 2, black) with
// nrow = ceil(sqrt(n)) columns, as genlab.images.to_pil_grid draws it; ncol forces the columns.
function gridPixels(data, n, c, r, ncol = 0) {
  const nrow = ncol || Math.ceil(Math.sqrt(n));
  const pad = n > 1 ? 2 : 0;
  const xmaps = Math.min(nrow, n), ymaps = Math.ceil(n / xmaps);
  const w = xmaps * (r + pad) + pad, h = ymaps * (r + pad) + pad;
  const px = new Uint8ClampedArray(w * h * 4);
  for (let i = 3; i < px.length; i += 4) px[i] = 255;
  const plane = r * r;
  for (let k = 0; k < n; k++) {
    const y0 = Math.floor(k / xmaps) * (r + pad) + pad, x0 = (k % xmaps) * (r + pad) + pad;
    for (let y = 0; y < r; y++) {
      for (let x = 0; x < r; x++) {
        const o = ((y0 + y) * w + x0 + x) * 4, src = k * c * plane + y * r + x;
        for (let ch = 0; ch < 3; ch++) {
          const v = data[src + (c === 1 ? 0 : ch) * plane];
          px[o + ch] = Math.round((Math.min(1, Math.max(-1, v)) + 1) * 127.5);
        }
      }
    }
  }
  return { px, w, h };
}

// Draw onto a canvas at its grid size; CSS scales it by the server's integer factor (pixelated).
function paint(canvas, grid, displaySize) {
  if (canvas.width !== grid.w || canvas.height !== grid.h) {
    canvas.width = grid.w;
    canvas.height = grid.h;
  }
  canvas.getContext("2d").putImageData(new ImageData(grid.px, grid.w, grid.h), 0, 0);
  const factor = Math.max(1, Math.round(displaySize / Math.max(grid.w, grid.h)));
  canvas.style.width = `${grid.w * factor}px`;
  canvas.dataset.factor = String(factor);
}

// The next animation frame: { id: its rAF timestamp (shared by every callback of that frame), now }.
const frame = () => new Promise((resolve) => requestAnimationFrame((id) => resolve({ id, now: performance.now() })));

// One in-page drawer per tab: always draws the latest controls (older requests are dropped while a
// frame is being computed), and records input-to-frame times.
class Drawer {
  constructor(prefix, displaySize) {
    this.prefix = prefix;
    this.displaySize = displaySize;
    this.spec = null;
    this.mode = "waiting"; // "page", "server" or "waiting"
    this.timings = []; // ms from the input event to the animation frame that shows its picture
    this.written = []; // ms from the input event to the pixels written on the canvas
    this.inFirstFrame = []; // whether that frame was the first one after the input
    this.busy = false;
    this.next = null;
    this.lastKey = "";
  }

  resetTimings() {
    for (const a of [this.timings, this.written, this.inFirstFrame]) a.length = 0;
  }

  el(id) { return document.getElementById(`${this.prefix}-${id}`); }

  note(text, mode) {
    this.mode = mode;
    const note = this.el("web-note");
    if (note) note.textContent = text;
    for (const id of this.canvases) {
      const canvas = this.el(id);
      if (canvas) canvas.style.display = mode === "page" ? "" : "none";
    }
    for (const id of this.serverImages) {
      const server = this.el(id);
      if (server) server.style.display = mode === "page" ? "none" : "";
    }
    const save = this.el("web-save");
    if (save) save.style.display = mode === "page" ? "" : "none";
  }

  // Make the spec's graph ready; false (and the server path, with the reason shown) if it cannot be.
  async use(spec) {
    if (!spec || typeof spec !== "object") return false;
    if (!spec.onnx) {
      this.note(`Drawn on the server: ${spec.reason || "this model has no in-page graph"}.`, "server");
      return false;
    }
    try {
      const { ort, s } = await session(spec.onnx);
      const key = JSON.stringify(spec); // Gradio may hand over a fresh copy of the same spec
      if (key !== this.specKey) {
        this.spec = spec;
        this.specKey = key;
        this.prepare(spec);
        this.lastKey = "";
      }
      this.ort = ort;
      this.session = s;
      if (this.mode !== "page") this.note(`${inPage()}.`, "page");
      return true;
    } catch (e) {
      this.note(`Drawn on the server: the in-page generator did not start (${e.message || e}).`, "server");
      return false;
    }
  }

  // Draw these controls (now, or after the frame in progress); t0 is the input event's time.
  request(controls, t0) {
    const key = JSON.stringify(controls);
    if (key === this.lastKey && !this.busy) return;
    const next = { controls, key, t0, firstFrame: null };
    requestAnimationFrame((id) => { next.firstFrame = id; }); // the first frame after the input
    this.next = next;
    if (!this.busy) this.pump();
  }

  async pump() {
    this.busy = true;
    try {
      while (this.next) {
        if (!this.el("canvas")) { // a tab Gradio has not rendered yet: draw when it is opened
          await new Promise((resolve) => setTimeout(resolve, 100));
          this.next.waited = true;
          continue;
        }
        const { controls, key, t0, waited } = this.next;
        const started = this.next;
        this.next = null;
        if (key === this.lastKey) continue;
        const spec = this.spec;
        const cold = !warmed.has(this.session); // the runtime's first run of a graph is slow (start-up included)
        warmed.add(this.session);
        const grid = await this.compute(controls);
        paint(this.el("canvas"), grid, this.displaySize);
        this.lastKey = key;
        this.drawnSpec = spec;
        // show the canvas, hide the server's picture; a draw made before its tab was opened is not timed, and the
        // note (still Gradio's "Starting the in-page generator…") says what draws it
        this.note(waited ? `${inPage()}; move a slider to time a frame.`
          : this.el("web-note")?.textContent || "", "page");
        const written = performance.now();
        // Timed when its frame comes, without holding the next drawing back until then.
        if (!waited) frame().then((shown) => this.record(t0, written, started.firstFrame === shown.id, shown.now, cold));
      }
    } catch (e) {
      this.note(`Drawn on the server: the in-page generator failed (${e.message || e}).`, "server");
    } finally {
      this.busy = false;
    }
  }

  record(t0, written, inFirstFrame, shownAt, cold = false) {
    this.timings.push(shownAt - t0);
    this.written.push(written - t0);
    this.inFirstFrame.push(inFirstFrame);
    for (const a of [this.timings, this.written, this.inFirstFrame]) if (a.length > 1000) a.shift();
    const note = this.el("web-note");
    const ms = (shownAt - t0).toFixed(1);
    if (note) note.textContent = cold
      ? `${inPage()}: the first frame took ${ms} ms, starting the model included; move a slider to time the next.`
      : `${inPage()}: ${ms} ms from slider to frame.`;
  }

  // The value of a Gradio slider or number, read from the page (for native input events).
  value(id) {
    const box = this.el(id);
    const input = box && (box.querySelector('input[type="range"]') || box.querySelector('input[type="number"]'));
    return input ? Number(input.value) : NaN;
  }

  // Gradio calls this (the `js` of the tab's events): draw in the page and return tick unchanged, or
  // return tick + 1, which makes the tab's hidden tick change and run the server endpoint.
  async fromGradio(spec, controls, tick) {
    const t0 = performance.now();
    if (await this.use(spec)) {
      this.request(controls, t0);
      return tick;
    }
    return (Number(tick) || 0) + 1;
  }

  save() {
    const canvas = this.el("canvas");
    const a = document.createElement("a");
    a.download = `genlab-${this.prefix}.png`;
    a.href = canvas.toDataURL("image/png");
    a.click();
  }
}

class GanDrawer extends Drawer {
  constructor() {
    super("gan", 512);
    this.serverImages = ["output"]; // the server's picture, hidden while the page draws
    this.canvases = ["canvas"];
    // SeFa sliders, then the measured attribute sliders (z directions, then class blends; see gan_tab.py)
    this.ids = ["psi", "n", ...Array.from({ length: 6 }, (_, k) => `dir-${k + 1}`),
      ...Array.from({ length: 20 }, (_, k) => `attr-${k + 1}`)];
  }

  prepare(spec) {
    this.z = floats(spec.z); // (64, L)
    this.dirs = floats(spec.directions); // (k, L)
    this.embed = floats(spec.embed); // (K, E) class embeddings
    this.labelEmbed = floats(spec.label_embed); // (64, E) each image's own
    this.labels = BigInt64Array.from(spec.labels.map((v) => BigInt(v)));
  }

  controlsFromPage() {
    const offsets = this.ids.slice(2).map((id) => this.value(id) || 0); // a slider not shown: 0
    return { psi: this.value("psi"), n: this.value("n"), offsets };
  }

  async compute({ psi, n, offsets }) {
    const spec = this.spec, L = spec.latent_dim, E = spec.embed_dim;
    n = Math.max(1, Math.min(64, Math.round(n)));
    const z = new Float32Array(n * L);
    const moving = [];
    for (let k = 0; k < Math.min(offsets.length, spec.n_directions); k++) if (offsets[k]) moving.push(k); // NaN: absent
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < L; j++) {
        let shift = 0;
        for (const k of moving) shift += offsets[k] * this.dirs[k * L + j];
        z[i * L + j] = Math.fround(this.z[i * L + j] * psi) + shift;
      }
    }
    // class sliders: shift_i = sum_c a_c (E[c] - E[label_i]), as Generator.class_shift
    const shift = new Float32Array(n * E);
    spec.class_sliders.forEach((c, j) => {
      const a = offsets[spec.first_class_slider + j];
      if (!a) return;
      for (let i = 0; i < n; i++) {
        for (let e = 0; e < E; e++) shift[i * E + e] += a * (this.embed[c * E + e] - this.labelEmbed[i * E + e]);
      }
    });
    const feeds = { z: new this.ort.Tensor("float32", z, [n, L]),
      labels: new this.ort.Tensor("int64", this.labels.slice(0, n), [n]),
      embed_shift: new this.ort.Tensor("float32", shift, [n, E]) };
    // an imported generator's graph takes z alone (the exporter drops inputs a graph does not use)
    for (const name of Object.keys(feeds)) if (!this.session.inputNames.includes(name)) delete feeds[name];
    const out = await this.session.run(feeds);
    return gridPixels(out.images.data, n, spec.channels, spec.resolution);
  }
}

function slerp(a, b, t) {
  const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const n0 = norm(a), n1 = norm(b);
  const lerp = () => a.map((x, i) => x + t * (b[i] - x));
  if (n0 < 1e-8 || n1 < 1e-8) return lerp();
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i] / n0) * (b[i] / n1);
  const omega = Math.acos(Math.min(1, Math.max(-1, dot)));
  if (Math.abs(omega) < 1e-4 || Math.abs(Math.PI - omega) < 1e-4) return lerp();
  const s = Math.sin(omega), w0 = Math.sin((1 - t) * omega) / s, w1 = Math.sin(t * omega) / s, len = n0 + t * (n1 - n0);
  return a.map((x, i) => (w0 * (x / n0) + w1 * (b[i] / n1)) * len);
}

class VaeDrawer extends Drawer {
  constructor() {
    super("vae", 224);
    this.serverImages = ["current", "traversal"];
    this.canvases = ["canvas", "traversal-canvas"];
    this.ids = ["t"];
  }

  prepare(spec) {
    this.za = floats(spec.za);
    this.zb = floats(spec.zb);
  }

  controlsFromPage() { return { t: this.value("t") }; }

  async compute({ t }) {
    const spec = this.spec;
    t = Math.min(1, Math.max(0, t));
    const z = spec.mode === "spherical" ? slerp(this.za, this.zb, t) : this.za.map((x, i) => x + t * (this.zb[i] - x));
    // the image at t, then the traversal rows at t (each moves one KL-ranked dimension -span..span)
    const dims = spec.traversal_dims, steps = spec.traversal_steps, L = spec.latent_dim;
    const batch = new Float32Array((1 + dims.length * steps) * L);
    batch.set(z, 0);
    dims.forEach((d, r) => {
      for (let s = 0; s < steps; s++) {
        const row = (1 + r * steps + s) * L;
        batch.set(z, row);
        batch[row + d] = -spec.traversal_span + (2 * spec.traversal_span * s) / (steps - 1);
      }
    });
    const n = 1 + dims.length * steps;
    const out = await this.session.run({ z: new this.ort.Tensor("float32", batch, [n, L]) });
    const plane = spec.channels * spec.resolution * spec.resolution;
    const data = out.images.data;
    const canvas = this.el("traversal-canvas");
    if (canvas && dims.length) paint(canvas, gridPixels(data.subarray(plane), n - 1, spec.channels, spec.resolution, steps), 7 * 56);
    return gridPixels(data.subarray(0, plane), 1, spec.channels, spec.resolution);
  }
}

const gan = new GanDrawer();
const vae = new VaeDrawer();

// Native input events: dragging redraws on every movement, without waiting for Gradio or the server.
document.addEventListener("input", (event) => {
  const target = event.target;
  if (!(target instanceof HTMLInputElement) || target.type !== "range") return;
  for (const drawer of [gan, vae]) {
    if (drawer.mode !== "page") continue;
    if (!drawer.ids.some((id) => target.closest(`#${drawer.prefix}-${id}`))) continue;
    const t0 = event.timeStamp; // same clock as performance.now()
    drawer.request(drawer.controlsFromPage(), t0);
  }
}, true);

document.addEventListener("click", (event) => {
  const button = event.target instanceof Element && event.target.closest("#gan-web-save, #vae-web-save");
  if (button) (button.id.startsWith("gan") ? gan : vae).save();
});

// What the tab shows now, for tests: "page:" + the canvas as a PNG data URL, or "server:" + the image URL.
function picture(prefix) {
  const drawer = { gan, vae }[prefix];
  if (drawer.mode === "page") {
    const canvas = drawer.el("canvas");
    return canvas && canvas.width ? `page:${canvas.toDataURL()}` : "";
  }
  const img = document.querySelector(`#${prefix}-${drawer.serverImages[0]} img`);
  return img ? `server:${img.src}` : "";
}

window.genlab = { gan, vae, picture, runtime };
if (window.genlabLoaded) window.genlabLoaded(window.genlab);
