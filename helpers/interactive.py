"""Figures with sliders that work in a live kernel *and* in the static book.

One call::

    from helpers.interactive import interactive_figure

    def plot(temperature, shift):
        fig, ax = plt.subplots()
        ...
        return fig

    interactive_figure(plot, temperature=[0.25, 0.5, 1, 2, 4], shift=np.linspace(-2, 2, 5))

returns an object whose rich display carries two views of the same figure:

- ``application/vnd.jupyter.widget-view+json``: ipywidgets sliders that call ``plot`` live
  (what JupyterLab / Notebook show when a kernel is running);
- ``text/html``: a *frames player*, the figure pre-rendered for every slider combination
  (a grid of frames for two or more sliders) and switched by a few lines of inline
  JavaScript. No kernel, no CDN, no widget manager: it works in the built book, offline.

The book's ``_config.yml`` sets ``nb_mime_priority_overrides`` so the HTML builder picks
``text/html``. The number of frames is bounded by ``budget('max_frames')``: longer slider
value lists are thinned evenly (first, last and default values are always kept).
"""
from __future__ import annotations

import base64
import html
import io
import itertools
import json
import uuid
from dataclasses import dataclass, field
from numbers import Number
from typing import Any, Callable, Sequence

import numpy as np

from . import config

__all__ = ["Slider", "interactive_figure", "InteractiveFigure", "SliderSpecError"]

HARD_FRAME_LIMIT = 400  # beyond this a page gets too heavy whatever the budget says


class SliderSpecError(ValueError):
    """A slider was specified in a way the frames player cannot show."""


@dataclass
class Slider:
    """One slider: a name (the keyword passed to the plot function) and its values.

    values: a non-empty sequence of distinct numbers or strings, in slider order.
    label:  text shown beside the slider (default: the name).
    default: the value shown first (default: the middle value).
    fmt:    format for numeric values in the readout, e.g. ``'{:.2f}'``.
    """

    name: str
    values: Sequence[Any]
    label: str | None = None
    default: Any = None
    fmt: str | None = None
    _index: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise SliderSpecError(f"slider name {self.name!r} must be a Python identifier (it is passed as a keyword)")
        if isinstance(self.values, (str, bytes)) or not hasattr(self.values, "__iter__"):
            raise SliderSpecError(
                f"slider {self.name!r}: values must be a list of numbers or strings, got {type(self.values).__name__}; "
                "write e.g. np.linspace(0, 1, 11) or ['sigmoid', 'tanh', 'relu']"
            )
        vals = [v.item() if isinstance(v, np.generic) else v for v in self.values]
        if not vals:
            raise SliderSpecError(f"slider {self.name!r} has no values; give at least one")
        for v in vals:
            if isinstance(v, bool) or not isinstance(v, (Number, str)):
                raise SliderSpecError(
                    f"slider {self.name!r}: value {v!r} is neither a number nor a string; "
                    "sliders step through numbers or named options"
                )
            if isinstance(v, Number) and not np.isfinite(v):
                raise SliderSpecError(f"slider {self.name!r}: value {v!r} is not finite")
        if len(set(map(repr, vals))) != len(vals):
            raise SliderSpecError(f"slider {self.name!r} repeats a value; values must be distinct: {vals}")
        self.values = vals
        if self.default is None:
            self._index = (len(vals) - 1) // 2
        else:
            matches = [i for i, v in enumerate(vals) if v == self.default]
            if not matches:
                raise SliderSpecError(f"slider {self.name!r}: default {self.default!r} is not one of its values {vals}")
            self._index = matches[0]
        self.default = vals[self._index]
        if self.label is None:
            self.label = self.name

    def readout(self, value: Any) -> str:
        if self.fmt:
            return self.fmt.format(value)
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    def thinned(self, n: int) -> "Slider":
        """A copy with at most ``n`` values, evenly spaced, keeping ends and the default."""
        if len(self.values) <= n:
            return self
        n = max(n, 2)
        keep = set(np.round(np.linspace(0, len(self.values) - 1, n)).astype(int).tolist())
        keep.add(self._index)
        while len(keep) > n:  # drop the interior index nearest to another kept one
            inner = sorted(keep - {0, len(self.values) - 1, self._index})
            if not inner:
                break
            keep.remove(inner[len(inner) // 2])
        vals = [self.values[i] for i in sorted(keep)]
        return Slider(self.name, vals, self.label, self.default, self.fmt)


def _as_slider(name: str, spec: Any) -> Slider:
    if isinstance(spec, Slider):
        if spec.name != name:
            raise SliderSpecError(f"Slider named {spec.name!r} was passed as keyword {name!r}; use the same name")
        return spec
    if isinstance(spec, dict):
        try:
            return Slider(name=name, **spec)
        except TypeError as exc:
            raise SliderSpecError(f"slider {name!r}: {exc}; allowed keys are values, label, default, fmt") from None
    return Slider(name, spec)


def _fit_frames(sliders: list[Slider], max_frames: int) -> list[Slider]:
    """Thin the longest sliders until the grid of frames fits in ``max_frames``."""
    if max_frames < 1:
        raise SliderSpecError(f"max_frames must be at least 1, got {max_frames}")
    sliders = list(sliders)
    while int(np.prod([len(s.values) for s in sliders])) > max_frames:
        i = int(np.argmax([len(s.values) for s in sliders]))
        longest = len(sliders[i].values)
        if longest <= 2:
            raise SliderSpecError(
                f"{len(sliders)} sliders need at least {2 ** len(sliders)} frames, more than max_frames={max_frames}; "
                "use fewer sliders"
            )
        rest = int(np.prod([len(s.values) for j, s in enumerate(sliders) if j != i]))
        target = max(2, min(longest - 1, max_frames // max(rest, 1)))
        sliders[i] = sliders[i].thinned(target)
    return sliders


IMAGE_FORMATS = ("auto", "png", "jpeg")
JPEG_QUALITY = 85
JPEG_WINS_BELOW = 0.6  # "auto" takes JPEG only when it is under 60% of the PNG: photographs, not line plots


def _render_rgb(fig: Any, dpi: int) -> Any:
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _encode(img: Any, fmt: str) -> str:
    """A data URI: a palette PNG (small, sharp lines) or a JPEG (photographs)."""
    from PIL import Image

    out = io.BytesIO()
    if fmt == "jpeg":
        img.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    else:
        img.quantize(colors=192, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            out, format="PNG", optimize=True)
    return f"data:image/{fmt};base64," + base64.b64encode(out.getvalue()).decode("ascii")


class InteractiveFigure:
    """The object returned by :func:`interactive_figure`; display it (last expression of a cell)."""

    def __init__(self, plot_fn: Callable[..., Any], sliders: list[Slider], *, title: str | None,
                 max_frames: int, dpi: int, live: bool, image_format: str = "auto") -> None:
        self.plot_fn = plot_fn
        self.requested = sliders
        self.sliders = _fit_frames(sliders, max_frames)
        self.title = title
        self.dpi = dpi
        self.image_format = image_format  # "auto" until all frames are drawn, then "png" or "jpeg"
        self.live = live
        self.frames: list[str] = []  # data URIs, row-major over the slider grid
        self._render_frames()

    # -- static frames -------------------------------------------------------------------------
    def _call(self, values: dict[str, Any]) -> Any:
        import matplotlib.pyplot as plt

        fig = self.plot_fn(**values)
        if fig is None:
            fig = plt.gcf()
        if not hasattr(fig, "savefig"):
            raise TypeError(f"{getattr(self.plot_fn, '__name__', 'plot_fn')} must return a matplotlib Figure (or None "
                            f"to use the current figure), got {type(fig).__name__}")
        return fig

    def _render_frames(self) -> None:
        import matplotlib.pyplot as plt

        formats = ("png", "jpeg") if self.image_format == "auto" else (self.image_format,)
        encoded: dict[str, list[str]] = {f: [] for f in formats}
        for combo in itertools.product(*(s.values for s in self.sliders)):
            values = dict(zip((s.name for s in self.sliders), combo))
            fig = self._call(values)
            try:
                img = _render_rgb(fig, self.dpi)
            finally:
                plt.close(fig)
            for f in formats:
                encoded[f].append(_encode(img, f))
        if self.image_format == "auto":
            # one format for the whole player (same look while the slider moves), chosen on the
            # total: JPEG only when it is much smaller, which happens for photographs
            weight = {f: sum(map(len, frames)) for f, frames in encoded.items()}
            self.image_format = "jpeg" if weight["jpeg"] < JPEG_WINS_BELOW * weight["png"] else "png"
        self.frames = encoded[self.image_format]

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    def frame_index(self, **values: Any) -> int:
        """Index into :attr:`frames` of the frame drawn for the given slider values."""
        idx = 0
        for s in self.sliders:
            v = values.get(s.name, s.default)
            if v not in s.values:
                raise SliderSpecError(f"{s.name}={v!r} is not a frame value; frames exist for {s.values}")
            idx = idx * len(s.values) + s.values.index(v)
        return idx

    def to_html(self) -> str:
        """The self-contained frames player (inline JS, no external resources)."""
        uid = "ifig-" + uuid.uuid4().hex[:10]
        dims = [len(s.values) for s in self.sliders]
        start = [s.values.index(s.default) for s in self.sliders]
        first = 0
        for d, i in zip(dims, start):
            first = first * d + i
        rows = []
        name = self.title or "Interactive figure"
        settings = []
        for k, s in enumerate(self.sliders):
            labels = [s.readout(v) for v in s.values]
            settings.append(f"{s.label} = {labels[start[k]]}")
            # a native range input: arrow keys, Home/End and Page Up/Down move it; the screen reader hears its
            # label and its value as shown (aria-valuetext), not the frame index
            rows.append(
                f'<label class="ifig-row">'
                f'<span class="ifig-name">{html.escape(str(s.label))}</span>'
                f'<input type="range" min="0" max="{len(s.values) - 1}" step="1" value="{start[k]}" '
                f'data-k="{k}" aria-label="{html.escape(str(s.label))}" '
                f'aria-valuetext="{html.escape(labels[start[k]])}" '
                f"data-labels='{html.escape(json.dumps(labels), quote=True)}'>"
                f'<output class="ifig-value" aria-hidden="true">{html.escape(labels[start[k]])}</output></label>'
            )
        title = f'<div class="ifig-title" id="{uid}-title">{html.escape(self.title)}</div>' if self.title else ""
        group = (f'role="group" aria-labelledby="{uid}-title"' if self.title
                 else f'role="group" aria-label="{html.escape(name)}"')
        alt = f"{name}, at {', '.join(settings)}"
        frames_js = json.dumps(self.frames)
        return f"""<div class="ifig" id="{uid}" data-frames="{len(self.frames)}" {group}>{title}
<div class="ifig-controls">{''.join(rows)}</div>
<img class="ifig-frame" data-index="{first}" src="{self.frames[first]}" alt="{html.escape(alt)}" data-name="{html.escape(name)}" style="max-width:100%">
<script>(function(){{var F={frames_js};var D={json.dumps(dims)};
var root=document.getElementById("{uid}");var img=root.querySelector("img.ifig-frame");
var ins=root.querySelectorAll("input[type=range]");
function upd(){{var i=0,at=[];for(var k=0;k<ins.length;k++){{i=i*D[k]+parseInt(ins[k].value,10);
var L=JSON.parse(ins[k].getAttribute("data-labels"));var v=L[parseInt(ins[k].value,10)];
ins[k].nextElementSibling.textContent=v;ins[k].setAttribute("aria-valuetext",v);at.push(ins[k].getAttribute("aria-label")+" = "+v);}}
img.src=F[i];img.setAttribute("data-index",i);img.alt=img.getAttribute("data-name")+", at "+at.join(", ");}}
for(var k=0;k<ins.length;k++){{ins[k].addEventListener("input",upd);ins[k].addEventListener("change",upd);}}
}})();</script></div>"""

    # -- live widgets --------------------------------------------------------------------------
    def _widget(self) -> Any:
        import ipywidgets as widgets
        import matplotlib.pyplot as plt
        from IPython.display import display

        controls = {}
        for s in self.requested:  # live sliders keep every requested value
            controls[s.name] = widgets.SelectionSlider(
                options=[(s.readout(v), v) for v in s.values], value=s.default, description=str(s.label),
                continuous_update=False, style={"description_width": "initial"},
                layout=widgets.Layout(width="28em"),
            )
        out = widgets.Output()

        def redraw(**values: Any) -> None:
            with out:
                out.clear_output(wait=True)
                fig = self._call(values)
                display(fig)
                plt.close(fig)

        widgets.interactive_output(redraw, controls)
        box = widgets.VBox(list(controls.values()) + [out])
        return box

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "text/plain": f"<interactive figure: {', '.join(s.name for s in self.sliders)}; {self.n_frames} frames>",
            "text/html": self.to_html(),
        }
        if self.live:
            try:
                w = self._widget()
                bundle["application/vnd.jupyter.widget-view+json"] = {
                    "version_major": 2, "version_minor": 0, "model_id": w.model_id,
                }
            except Exception:  # no ipywidgets or no kernel comm: the frames player still works
                pass
        return bundle


def _in_kernel() -> bool:
    """True in a live Jupyter kernel; False in plain Python and in the static book build."""
    import os

    if os.environ.get("BOOK_STATIC"):  # set by book/_ext/book_build.py for kernels the build starts
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


def interactive_figure(plot_fn: Callable[..., Any], sliders: Sequence[Slider] | None = None, *,
                       title: str | None = None, max_frames: int | None = None, dpi: int | None = None,
                       live: bool | None = None, image_format: str = "auto",
                       **slider_specs: Any) -> InteractiveFigure:
    """Turn ``plot_fn(**values) -> Figure`` plus slider ranges into an interactive figure.

    Sliders are given as keywords (``temperature=[0.5, 1, 2]``; a dict
    ``dict(values=..., label=..., default=..., fmt=...)``; or a :class:`Slider`) or as a list
    of :class:`Slider` in ``sliders``. ``max_frames`` and ``dpi`` default to the budgets
    ``max_frames`` and ``figure_dpi``. ``live`` adds the ipywidgets view (default: when
    running inside a Jupyter kernel). ``image_format`` of the static frames: ``"png"``,
    ``"jpeg"``, or ``"auto"`` (JPEG when it is under 60% of the PNG, as for photographs;
    PNG for line plots, where it is smaller and sharp).

    Raises :class:`SliderSpecError` with a hint for unusable specs.
    """
    if not callable(plot_fn):
        raise SliderSpecError(f"the first argument must be the plotting function, got {type(plot_fn).__name__}")
    specs: list[Slider] = list(sliders or [])
    for s in specs:
        if not isinstance(s, Slider):
            raise SliderSpecError(f"sliders=[...] takes Slider objects, got {type(s).__name__}; "
                                  "or pass name=values keywords")
    specs += [_as_slider(name, spec) for name, spec in slider_specs.items()]
    if not specs:
        raise SliderSpecError("interactive_figure needs at least one slider, e.g. temperature=[0.5, 1, 2]")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise SliderSpecError(f"slider names must be distinct, got {names}")
    max_frames = int(max_frames if max_frames is not None else config.budget("max_frames"))
    if max_frames > HARD_FRAME_LIMIT:
        raise SliderSpecError(f"max_frames={max_frames} is above the page-weight limit {HARD_FRAME_LIMIT}")
    dpi = int(dpi if dpi is not None else config.budget("figure_dpi"))
    if image_format not in IMAGE_FORMATS:
        raise SliderSpecError(f"image_format={image_format!r}: use one of {', '.join(IMAGE_FORMATS)}")
    return InteractiveFigure(plot_fn, specs, title=title, max_frames=max_frames, dpi=dpi,
                             live=_in_kernel() if live is None else live, image_format=image_format)
