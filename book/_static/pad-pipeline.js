/* The drawing pad's pipeline: the book's Python, line for line, in the browser.
 *
 *   rasterize, inkBox, readDrawing, nearestExamples   helpers/pad.py
 *   frameCrop, cropToSquare, fitStrokeWidth           helpers/ocr/crops.py (the OCR reader's framing)
 *   resize                                            PIL's Image.resize of a float image (bilinear or box)
 *   greyFilter                                        scipy.ndimage's grey_dilation and grey_erosion
 *
 * An image is {h, w, a}: a row-major Float32Array, float32 like numpy's arrays in the Python version.
 * tests/test_pad.py checks that the 32x32 image and the probabilities equal helpers.pad.read_drawing's.
 */
"use strict";
(function (root) {
  const clip = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
  const image = (h, w) => ({h, w, a: new Float32Array(h * w)});

  // helpers/pad.py: rasterize. Round pen, ink falling from 1 to 0 over one pixel at the pen's edge.
  function rasterize(strokes, size, pen) {
    const ink = new Float64Array(size * size), r = pen / 2;
    for (const p of strokes) {
      if (p.length === 0) continue;
      const segments = p.length > 1 ? p.slice(1).map((b, k) => [p[k], b]) : [[p[0], p[0]]];
      for (const [[ax, ay], [bx, by]] of segments) {
        const x0 = Math.max(Math.floor(Math.min(ax, bx) - r - 1), 0), x1 = Math.min(Math.ceil(Math.max(ax, bx) + r + 1), size);
        const y0 = Math.max(Math.floor(Math.min(ay, by) - r - 1), 0), y1 = Math.min(Math.ceil(Math.max(ay, by) + r + 1), size);
        const dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
        for (let i = y0; i < y1; i++) {
          for (let j = x0; j < x1; j++) {
            const px = j + 0.5, py = i + 0.5;
            const t = len2 > 0 ? clip(((px - ax) * dx + (py - ay) * dy) / len2, 0, 1) : 0;
            const ex = px - (ax + t * dx), ey = py - (ay + t * dy);
            const d = Math.sqrt(ex * ex + ey * ey);
            ink[i * size + j] = Math.max(ink[i * size + j], clip(r + 0.5 - d, 0, 1));
          }
        }
      }
    }
    return {h: size, w: size, a: Float32Array.from(ink)};
  }

  // helpers/pad.py: ink_box. [y1, x1, y2, x2] of the pixels at least half ink, null for an empty pad.
  function inkBox(amount) {
    let y1 = Infinity, x1 = Infinity, y2 = -1, x2 = -1;
    amount.a.forEach((v, k) => {
      if (v > 0.5) {
        const i = Math.floor(k / amount.w), j = k % amount.w;
        y1 = Math.min(y1, i); x1 = Math.min(x1, j); y2 = Math.max(y2, i + 1); x2 = Math.max(x2, j + 1);
      }
    });
    return y2 < 0 ? null : [y1, x1, y2, x2];
  }

  // PIL: Image.fromarray(x, "F").resize((n, n), BILINEAR or BOX). Each axis in turn (x first), every output
  // pixel a normalized filter over the input pixels it covers (the filter widened when shrinking).
  function resize(x, n, kind) {
    if (x.h === n && x.w === n) return {h: n, w: n, a: x.a.slice()};
    const filter = kind === "bilinear" ? (t => Math.abs(t) < 1 ? 1 - Math.abs(t) : 0) : (t => (t > -0.5 && t <= 0.5 ? 1 : 0));
    const support0 = kind === "bilinear" ? 1 : 0.5;
    const coefficients = size => {
      const scale = size / n, fs = Math.max(scale, 1), support = support0 * fs;
      return Array.from({length: n}, (_, o) => {
        const center = (o + 0.5) * scale;
        const lo = Math.max(Math.trunc(center - support + 0.5), 0), hi = Math.min(Math.trunc(center + support + 0.5), size);
        const k = Array.from({length: hi - lo}, (_, q) => filter((q + lo - center + 0.5) / fs));
        const total = k.reduce((s, v) => s + v, 0);
        return {lo, k: total !== 0 ? k.map(v => v / total) : k};
      });
    };
    const cx = coefficients(x.w), cy = coefficients(x.h);
    const tmp = image(x.h, n), out = image(n, n);
    for (let i = 0; i < x.h; i++) {
      cx.forEach(({lo, k}, j) => { let s = 0; k.forEach((v, q) => { s += x.a[i * x.w + lo + q] * v; }); tmp.a[i * n + j] = s; });
    }
    cy.forEach(({lo, k}, i) => {
      for (let j = 0; j < n; j++) { let s = 0; k.forEach((v, q) => { s += tmp.a[(lo + q) * n + j] * v; }); out.a[i * n + j] = s; }
    });
    return out;
  }

  // helpers/ocr/crops.py: crop_to_square. The ink box centred on a square canvas, its larger side `fill` of 32.
  function cropToSquare(amount, [y1, x1, y2, x2], fill) {
    const m = 2;  // margin for antialiased edges
    const side = Math.ceil(Math.max(y2 - y1, x2 - x1, 1) / fill * 32);
    const canvas = image(side + 2 * m, side + 2 * m);
    const cy = Math.floor((canvas.h - (y2 - y1)) / 2) - y1, cx = Math.floor((canvas.w - (x2 - x1)) / 2) - x1;
    for (let i = Math.max(cy, 0); i < Math.min(cy + amount.h, canvas.h); i++) {
      for (let j = Math.max(cx, 0); j < Math.min(cx + amount.w, canvas.w); j++) {
        canvas.a[i * canvas.w + j] = amount.a[(i - cy) * amount.w + (j - cx)];
      }
    }
    const inner = image(side, side);
    for (let i = 0; i < side; i++) inner.a.set(canvas.a.subarray((i + m) * canvas.w + m, (i + m) * canvas.w + m + side), i * side);
    return resize(inner, 64, side < 128 ? "bilinear" : "box");
  }

  // helpers/ocr/crops.py: stroke_width. 2 * area / boundary pixels (binary erosion by a cross, outside = paper).
  function strokeWidth(mask, h, w) {
    let area = 0, boundary = 0;
    const at = (i, j) => i >= 0 && i < h && j >= 0 && j < w && mask[i * w + j];
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        if (!mask[i * w + j]) continue;
        area += 1;
        if (!(at(i - 1, j) && at(i + 1, j) && at(i, j - 1) && at(i, j + 1))) boundary += 1;
      }
    }
    return area === 0 ? 0 : 2 * area / Math.max(boundary, 1);
  }

  // scipy.ndimage.grey_dilation / grey_erosion with size (s, s): the max / min over an s x s window, rows then
  // columns, mirrored at the border (mode "reflect"); for an even s the two windows lean opposite ways.
  function greyFilter(x, s, dilate) {
    const lo = dilate ? -(s - 1 - Math.floor(s / 2)) : -Math.floor(s / 2), pick = dilate ? Math.max : Math.min;
    const reflect = (i, n) => (i < 0 ? -i - 1 : i >= n ? 2 * n - i - 1 : i);
    const pass = (src, h, w, along) => {
      const out = new Float32Array(h * w);
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          let v = dilate ? -Infinity : Infinity;
          for (let q = lo; q < lo + s; q++) {
            v = pick(v, along === "x" ? src[i * w + reflect(j + q, w)] : src[reflect(i + q, h) * w + j]);
          }
          out[i * w + j] = v;
        }
      }
      return out;
    };
    return {h: x.h, w: x.w, a: pass(pass(x.a, x.h, x.w, "x"), x.h, x.w, "y")};
  }

  // Python's round(): halves go to the even neighbour
  const roundHalfEven = v => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));

  // helpers/ocr/crops.py: fit_stroke_width. Thicken or thin strokes outside 2 * strokeRange (pixels at 64x64).
  function fitStrokeWidth(a64, [lo, hi]) {
    const thin = 2 * lo, thick = 2 * hi;
    const width = strokeWidth(a64.a.map(v => (v > 0.5 ? 1 : 0)), a64.h, a64.w);
    if (width > 0 && width < thin - 0.5) return greyFilter(a64, roundHalfEven(thin - width) + 1, true);
    if (width > thick + 0.5) {
      const size = Math.trunc(Math.min(roundHalfEven(width - thick), width / 2)) + 1;
      if (size > 1) return greyFilter(a64, size, false);
    }
    return a64;
  }

  // helpers/ocr/crops.py: frame_crop. Squared, stroke width fitted, ink levels, 2x2 blocks averaged: 32x32.
  function frameCrop(amount, box, f) {
    let a64 = cropToSquare(amount, box, f.fill);
    if (f.normalize_stroke) a64 = fitStrokeWidth(a64, f.stroke_range);
    const a = a64.a.map(v => clip(Math.fround(v * f.ink_gain), 0, 1));
    const out = image(32, 32);
    for (let i = 0; i < 32; i++) {
      for (let j = 0; j < 32; j++) {
        const k = 2 * i * 64 + 2 * j, mean = (a[k] + a[k + 1] + a[k + 64] + a[k + 65]) / 4;
        out.a[i * 32 + j] = 1 - f.ink_depth * mean;
      }
    }
    return out;
  }

  // helpers/pad.py: read_drawing. Strokes -> 32x32 image -> hidden = sigmoid(x W1 + b1), softmax(hidden W2 + b2).
  function readDrawing(strokes, model) {
    const f = model.framing, amount = rasterize(strokes, f.pad_size, f.pen), box = inkBox(amount);
    if (box === null) return null;
    const x = frameCrop(amount, box, f).a;
    const hidden = Array.from({length: 64}, (_, j) => {
      let s = model.b1[j];
      for (let i = 0; i < 1024; i++) s += x[i] * model.W1[i * 64 + j];
      return 1 / (1 + Math.exp(-s));
    });
    const logits = Array.from({length: 36}, (_, c) => hidden.reduce((s, h, j) => s + h * model.W2[j * 36 + c], model.b2[c]));
    const top = Math.max(...logits), e = logits.map(z => Math.exp(z - top)), total = e.reduce((s, v) => s + v, 0);
    return {image: x, hidden, probs: e.map(v => v / total)};
  }

  // helpers/pad.py: nearest_examples. The exported training images of class `label`, nearest first by hidden
  // activations (the stable sort keeps ties in index order).
  function nearestExamples(hidden, model, label, k) {
    const ex = model.examples, idx = [];
    ex.labels.forEach((l, n) => { if (l === label) idx.push(n); });
    const dist = n => hidden.reduce((s, h, j) => s + (ex.hidden[n * 64 + j] / 255 - h) ** 2, 0);
    return idx.map(n => [dist(n), n]).sort((p, q) => p[0] - q[0]).slice(0, k).map(p => p[1]);
  }

  // The site's model file (helpers.pad.write_model): base64 little-endian arrays decoded.
  function loadModel(raw) {
    const bytes = s => Uint8Array.from(atob(s), c => c.charCodeAt(0));
    const floats = s => new Float32Array(bytes(s).buffer);
    const packed = bytes(raw.examples.images);     // 4-bit gray levels, two pixels a byte, the first high
    const images = new Float32Array(2 * packed.length);
    packed.forEach((b, k) => { images[2 * k] = (b >> 4) / 15; images[2 * k + 1] = (b & 15) / 15; });
    return {...raw, W1: floats(raw.W1), b1: floats(raw.b1), W2: floats(raw.W2), b2: floats(raw.b2),
            examples: {labels: raw.examples.labels, images, hidden: bytes(raw.examples.hidden)}};
  }

  const api = {rasterize, inkBox, resize, cropToSquare, strokeWidth, greyFilter, fitStrokeWidth, frameCrop,
               readDrawing, nearestExamples, loadModel};
  root.PadPipeline = api;
  if (typeof module === "object" && module.exports) module.exports = api;
})(typeof window !== "undefined" ? window : globalThis);
