/* The drawing pad on the pages of chapters 3 and 4: the page's side of helpers/pad.py.
 *
 * Fills every <div class="book-pad"> with a drawing canvas, the 32x32 image the network sees, the top-5
 * classes as bars, the 64 hidden units and the nearest training images. The reading itself is
 * PadPipeline.readDrawing (pad-pipeline.js); the weights come from window.PAD_MODEL (_static/pad-model.js,
 * written at build time from the chapter-3 network). Scripts and tests use window.BookPad.pads[k].draw(strokes).
 */
"use strict";
(function () {
  const el = (tag, attrs = {}, ...children) => {
    const e = document.createElement(tag);
    Object.entries(attrs).forEach(([k, v]) => (k === "text" ? (e.textContent = v) : e.setAttribute(k, v)));
    e.append(...children);
    return e;
  };
  const percent = p => (100 * p).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1) + "%";

  function paintGray(canvas, values, w, h) {   // values in [0, 1], 1 = white
    const ctx = canvas.getContext("2d"), img = ctx.createImageData(w, h);
    values.forEach((v, k) => { const g = Math.round(255 * v); img.data.set([g, g, g, 255], 4 * k); });
    ctx.putImageData(img, 0, 0);
  }

  function makePad(root, model) {
    const f = model.framing, classes = model.classes;
    const draw = el("canvas", {class: "pad-canvas", width: 512, height: 512, role: "img",
      "aria-label": "Drawing pad: draw a capital letter or a digit with a mouse, a finger or a pen, "
                    + "or choose a sample drawing below"});
    const seen = el("canvas", {class: "pad-seen", width: 32, height: 32, role: "img",
                               "aria-label": "the drawing as the network sees it, 32 by 32 pixels"});
    const bars = el("ol", {class: "pad-bars", "aria-label": "the network's five most likely classes"});
    const hidden = el("canvas", {class: "pad-hidden", width: 64, height: 1, role: "img",
                                 "aria-label": "the 64 hidden units, dark when active"});
    const near = el("div", {class: "pad-near"});
    const nearTitle = el("p", {class: "pad-caption", text: "Nearest training images of the class read"});
    const status = el("p", {class: "pad-status", "aria-live": "polite", role: "status",
                            text: "Draw a character: the network reads it as you draw."});
    const clear = el("button", {type: "button", class: "pad-button", text: "Clear"});
    const samples = el("div", {class: "pad-samples", role: "group", "aria-label": "sample drawings"},
                       el("span", {class: "pad-caption", text: "Or a sample drawing: "}));
    model.samples.forEach(s => {
      const b = el("button", {type: "button", class: "pad-button", "aria-label": `sample drawing of ${s.char}`, text: s.char});
      b.addEventListener("click", () => pad.draw(s.strokes));
      samples.append(b);
    });
    root.replaceChildren(
      el("div", {class: "pad-row"},
        el("figure", {class: "pad-figure"}, draw, el("figcaption", {}, clear, " draw here")),
        el("figure", {class: "pad-figure pad-figure-seen"}, seen, el("figcaption", {text: "what the network sees (32×32)"})),
        el("div", {class: "pad-answer"}, el("p", {class: "pad-caption", text: "The network reads"}), bars)),
      samples,
      el("div", {class: "pad-inside"},
        el("p", {class: "pad-caption", text: "The 64 hidden units (dark: active)"}), hidden, nearTitle, near),
      status);

    const pad = {element: root, strokes: [], result: null};
    const render = announce => {
      const ctx = draw.getContext("2d"), s = draw.width / f.pad_size;
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, draw.width, draw.height);
      ctx.fillStyle = ctx.strokeStyle = "#111"; ctx.lineWidth = f.pen * s; ctx.lineCap = ctx.lineJoin = "round";
      for (const p of pad.strokes) {
        if (p.length === 0) continue;
        ctx.beginPath(); ctx.moveTo(p[0][0] * s, p[0][1] * s);
        p.slice(1).forEach(([x, y]) => ctx.lineTo(x * s, y * s));
        if (p.length === 1) { ctx.arc(p[0][0] * s, p[0][1] * s, f.pen * s / 2, 0, 2 * Math.PI); ctx.fill(); } else ctx.stroke();
      }
      const r = PadPipeline.readDrawing(pad.strokes, model);
      pad.result = r;
      paintGray(seen, r ? r.image : new Float32Array(1024).fill(1), 32, 32);
      paintGray(hidden, r ? r.hidden.map(h => 1 - h) : new Array(64).fill(1), 64, 1);
      bars.replaceChildren(); near.replaceChildren();
      if (!r) { if (announce) status.textContent = "The pad is empty."; return; }
      const order = r.probs.map((p, c) => [p, c]).sort((a, b) => b[0] - a[0]).slice(0, 5);
      order.forEach(([p, c]) => bars.append(el("li", {},
        el("span", {class: "pad-label", text: classes[c]}),
        el("span", {class: "pad-bar", "aria-hidden": "true"}, el("span", {style: `width: ${(100 * p).toFixed(1)}%`})),
        el("span", {class: "pad-pct", text: percent(p)}))));
      const best = order[0][1];
      nearTitle.textContent = `Nearest training images of ${classes[best]} (by hidden units)`;
      PadPipeline.nearestExamples(r.hidden, model, best, 5).forEach(n => {
        const c = el("canvas", {class: "pad-example", width: 32, height: 32, role: "img",
                                "aria-label": `a training image of ${classes[best]}`});
        paintGray(c, model.examples.images.subarray(1024 * n, 1024 * (n + 1)), 32, 32);
        near.append(c);
      });
      if (announce) {
        status.textContent = `The network reads ${classes[best]} (${percent(order[0][0])}); then `
          + order.slice(1, 3).map(([p, c]) => `${classes[c]} (${percent(p)})`).join(", ") + ".";
      }
    };
    pad.draw = strokes => {           // draw these strokes (pad units) instead of the current drawing
      pad.strokes = strokes.map(p => p.map(([x, y]) => [x, y]));
      render(true);
      const r = pad.result;
      return r && {image: Array.from(r.image), hidden: r.hidden, probs: r.probs,
                   nearest: PadPipeline.nearestExamples(r.hidden, model, r.probs.indexOf(Math.max(...r.probs)), 5)};
    };
    pad.clear = () => pad.draw([]);
    clear.addEventListener("click", pad.clear);

    // pointer input: mouse, finger or pen; one stroke per press, read again at most once a frame
    let pending = false;
    const point = e => {
      const b = draw.getBoundingClientRect();
      return [(e.clientX - b.left) / b.width * f.pad_size, (e.clientY - b.top) / b.height * f.pad_size];
    };
    const later = () => { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; render(false); }); } };
    draw.addEventListener("pointerdown", e => {
      draw.setPointerCapture(e.pointerId);
      pad.strokes.push([point(e)]);
      later();
      e.preventDefault();
    });
    draw.addEventListener("pointermove", e => {
      if (!draw.hasPointerCapture(e.pointerId)) return;
      const stroke = pad.strokes[pad.strokes.length - 1];
      (e.getCoalescedEvents ? e.getCoalescedEvents() : [e]).forEach(c => stroke.push(point(c)));
      later();
    });
    const end = e => { if (draw.hasPointerCapture(e.pointerId)) { draw.releasePointerCapture(e.pointerId); render(true); } };
    draw.addEventListener("pointerup", end);
    draw.addEventListener("pointercancel", end);
    render(false);
    return pad;
  }

  function start() {
    window.BookPad = window.BookPad || {pads: []};
    for (const root of document.querySelectorAll("div.book-pad:not([data-ready])")) {
      root.setAttribute("data-ready", "");
      if (!window.PAD_MODEL || !window.PadPipeline) {
        root.textContent = "The drawing pad needs _static/pad-model.js, which the book's build writes "
          + "(jupyter-book build .): this copy of the site has none.";
        continue;
      }
      window.BookPad.model = window.BookPad.model || PadPipeline.loadModel(window.PAD_MODEL);
      window.BookPad.pads.push(makePad(root, window.BookPad.model));
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
