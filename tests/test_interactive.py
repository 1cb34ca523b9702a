"""helpers.interactive: slider specs, frame grids, and the static frames player."""
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers.interactive import HARD_FRAME_LIMIT, Slider, SliderSpecError, interactive_figure


def bars(a, b=0.0):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.bar([0, 1], [a, b])
    ax.set_ylim(-5, 5)
    return fig


def line(kind):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot({"up": [0, 1], "down": [1, 0]}[kind])
    return fig


def test_one_slider_frames_and_player():
    f = interactive_figure(bars, a=[1, 2, 3], live=False, title="T")
    assert f.n_frames == 3
    assert len(set(f.frames)) == 3  # each value draws a different picture
    html = f._repr_mimebundle_()["text/html"]
    assert html.count('type="range"') == 1
    assert "<script>" in html and "http" not in html  # inline, nothing fetched
    assert all(fr.startswith("data:image/png;base64,") for fr in f.frames)
    # the default (middle) value is shown first
    assert f.frames[f.frame_index(a=2)] in html.split("<script>")[0]


def test_two_sliders_make_a_grid():
    f = interactive_figure(bars, a=[1, 2], b=[-1, 0, 1], live=False)
    assert f.n_frames == 6
    # row-major: index = i_a * len(b) + i_b, matching the player's JavaScript
    assert f.frame_index(a=2, b=-1) == 3
    assert f.frame_index(a=1, b=1) == 2
    html = f.to_html()
    assert html.count('type="range"') == 2
    assert re.search(r"var D=\[2, 3\]", html)


def test_string_values_and_labels():
    f = interactive_figure(line, kind=dict(values=["up", "down"], label="direction", default="down"), live=False)
    html = f.to_html()
    assert "direction" in html and "down" in html
    assert f.sliders[0].default == "down"


def test_frames_are_bounded_by_thinning():
    f = interactive_figure(bars, a=np.linspace(-4, 4, 30), b=[0, 1], max_frames=10, live=False)
    assert f.n_frames <= 10
    a = f.sliders[0].values
    assert a[0] == -4 and a[-1] == 4  # ends kept
    assert f.requested[0].values[0] == -4 and len(f.requested[0].values) == 30  # live view keeps all values


def test_default_budget_applies():
    from helpers import config

    f = interactive_figure(bars, a=list(range(100)), live=False)
    assert f.n_frames <= config.budget("max_frames")


def test_figures_are_closed():
    before = len(plt.get_fignums())
    interactive_figure(bars, a=[1, 2, 3], live=False)
    assert len(plt.get_fignums()) == before


def test_plot_fn_may_return_none():
    def draw(a):
        plt.figure(figsize=(1, 1))
        plt.plot([0, a])

    assert interactive_figure(draw, a=[1, 2], live=False).n_frames == 2


@pytest.mark.parametrize(
    "spec, message",
    [
        ([], "no values"),
        ([1, 1, 2], "repeats a value"),
        ("abc", "list of numbers or strings"),
        ([1, None], "neither a number nor a string"),
        ([1, float("nan")], "not finite"),
        ([True, False], "neither a number nor a string"),
        (dict(values=[1, 2], default=5), "default 5 is not one of"),
        (dict(values=[1, 2], colour="red"), "allowed keys"),
        (7, "list of numbers or strings"),
    ],
)
def test_bad_slider_specs_get_clear_errors(spec, message):
    with pytest.raises(SliderSpecError, match=message):
        interactive_figure(bars, a=spec, live=False)


def test_other_bad_calls():
    with pytest.raises(SliderSpecError, match="at least one slider"):
        interactive_figure(bars, live=False)
    with pytest.raises(SliderSpecError, match="plotting function"):
        interactive_figure([1, 2], a=[1], live=False)
    with pytest.raises(SliderSpecError, match="page-weight"):
        interactive_figure(bars, a=[1, 2], max_frames=HARD_FRAME_LIMIT + 1, live=False)
    with pytest.raises(SliderSpecError, match="fewer sliders"):
        interactive_figure(lambda **k: bars(1), sliders=[Slider(n, [0, 1]) for n in "pqrs"], max_frames=8, live=False)
    with pytest.raises(SliderSpecError, match="identifier"):
        Slider("not a name", [1])
    with pytest.raises(TypeError, match="must return a matplotlib Figure"):
        interactive_figure(lambda a: 42, a=[1], live=False)


def test_live_bundle_has_widget_view():
    pytest.importorskip("ipywidgets")
    f = interactive_figure(bars, a=[1, 2], live=True)
    bundle = f._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["version_major"] == 2 and len(view["model_id"]) > 0
    assert "text/html" in bundle  # the static player always travels along


def test_static_build_makes_no_widgets(monkeypatch):
    monkeypatch.setenv("BOOK_STATIC", "1")
    f = interactive_figure(bars, a=[1, 2])
    assert not f.live
    assert "application/vnd.jupyter.widget-view+json" not in f._repr_mimebundle_()


def photo(seed):
    """A photograph-like frame: smooth shading plus sensor noise, no flat colours."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:120, 0:160] / 160.0
    img = 0.6 + 0.3 * np.sin(6 * xx + seed) * yy + 0.08 * rng.standard_normal((120, 160))
    fig, ax = plt.subplots(figsize=(3, 2.25))
    ax.imshow(img, cmap="gray", vmin=0, vmax=1)
    ax.axis("off")
    return fig


def decoded_size(uri):
    import base64, io
    from PIL import Image

    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).size


def test_auto_format_png_for_plots_jpeg_for_photographs():
    plots = interactive_figure(bars, a=[1, 2], live=False)
    assert plots.image_format == "png"
    assert all(fr.startswith("data:image/png;base64,") for fr in plots.frames)
    photos = interactive_figure(photo, seed=[0, 1, 2], live=False)
    assert photos.image_format == "jpeg"
    assert all(fr.startswith("data:image/jpeg;base64,") for fr in photos.frames)  # one format per player
    as_png = interactive_figure(photo, seed=[0, 1, 2], live=False, image_format="png")
    # the reason for JPEG: the photographic player is under 60% of its PNG weight, same pixels
    assert sum(map(len, photos.frames)) < 0.6 * sum(map(len, as_png.frames))
    assert [decoded_size(u) for u in photos.frames] == [decoded_size(u) for u in as_png.frames]
    forced = interactive_figure(bars, a=[1, 2], live=False, image_format="jpeg")
    assert forced.frames[0].startswith("data:image/jpeg;base64,")


def test_unknown_image_format_says_what_to_use():
    with pytest.raises(SliderSpecError, match="auto, png, jpeg"):
        interactive_figure(bars, a=[1, 2], live=False, image_format="gif")


def test_each_frame_shows_the_values_frame_index_names():
    """Frame ``frame_index(a=.., b=..)`` is the picture ``plot(a=.., b=..)`` draws (the grid is drawn in
    the order the player and frame_index read it), and the static page opens on the default values."""
    def plot(a, b):
        fig, ax = plt.subplots(figsize=(1.5, 1))
        ax.text(0.5, 0.5, f"{a}/{b}", ha="center")
        ax.bar([0, 1], [a, b])
        ax.set_ylim(-5, 5)
        return fig

    a_values, b_values = [1, 2, 3], [-2, 0, 2, 4]
    grid = interactive_figure(plot, a=a_values, b=dict(values=b_values, default=4), live=False, image_format="png")
    assert len(set(grid.frames)) == 12  # every combination draws its own picture
    for a in a_values:
        for b in b_values:
            alone = interactive_figure(plot, a=[a], b=[b], live=False, image_format="png")
            assert grid.frames[grid.frame_index(a=a, b=b)] == alone.frames[0], (a, b)
    first = re.search(r'<img class="ifig-frame" data-index="(\d+)" src="([^"]+)"', grid.to_html())
    assert int(first.group(1)) == grid.frame_index(a=2, b=4) and first.group(2) == grid.frames[grid.frame_index()]
