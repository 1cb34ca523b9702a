"""Tests of helpers.plots: class regions of linear scores and probability bars."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import plots  # noqa: E402

# three classes whose regions meet at a triple point inside the default extent
W = np.array([[2.0, -1.0, -0.58], [0.5, 1.5, -1.6]])
B = np.array([0.0, 2.0, -1.0])


def triple_point(W, b):
    A = np.stack([W[:, 0] - W[:, 1], W[:, 0] - W[:, 2]])
    return np.linalg.solve(A, [b[1] - b[0], b[2] - b[0]])


def test_class_colors_shape_range_and_cycle():
    c = plots.class_colors(9)
    assert c.shape == (9, 3) and c.min() >= 0 and c.max() <= 1
    assert np.allclose(c[0], c[len(plots.CLASS_COLORS)])
    with pytest.raises(ValueError, match="at least one class"):
        plots.class_colors(0)


def test_linear_scores_convention_and_shape_errors():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, -1.0]])
    S = plots.linear_scores(X, W, B)
    assert S.shape == (3, 3)
    assert np.allclose(S[2], 2 * W[0] - W[1] + B)
    with pytest.raises(ValueError, match=r"W must have shape \(2, C\)"):
        plots.linear_scores(X, W.T, B)
    with pytest.raises(ValueError, match="b must have shape"):
        plots.linear_scores(X, W, B[:2])
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        plots.linear_scores(X.T, W, B)


def test_region_probabilities_are_softmax_on_the_grid():
    P = plots.region_probabilities(W, B, extent=(-2, 2, -1, 3), resolution=5, temperature=0.5)
    assert P.shape == (5, 5, 3)
    assert np.allclose(P.sum(-1), 1) and np.all(P > 0)
    # row i is y = ymin + i dy, column j is x = xmin + j dx (imshow origin='lower')
    s = np.array([-2.0, 3.0]) @ W + B
    expected = np.exp(s / 0.5 - (s / 0.5).max())
    assert np.allclose(P[4, 0], expected / expected.sum())
    with pytest.raises(ValueError, match="temperature must be positive"):
        plots.region_probabilities(W, B, temperature=0)
    with pytest.raises(ValueError, match="xmin < xmax"):
        plots.region_probabilities(W, B, extent=(1, -1, 0, 1))


def test_region_image_pure_far_inside_and_mixed_at_the_triple_point():
    colors = plots.class_colors(3)
    x_star = triple_point(W, B)
    # a tiny extent around the triple point: all three classes equally likely -> mean colour
    e = 1e-9
    img = plots.region_image(W, B, extent=(x_star[0] - e, x_star[0] + e, x_star[1] - e, x_star[1] + e),
                             resolution=3)
    assert np.allclose(img[1, 1], colors.mean(axis=0), atol=1e-6)
    # far along w_1 at a low temperature, the pixel is class 1's colour
    far = x_star + 50 * (W[:, 0] - W.mean(axis=1))
    img = plots.region_image(W, B, extent=(far[0], far[0] + 1, far[1], far[1] + 1), resolution=2,
                             temperature=0.1)
    assert np.allclose(img, colors[0], atol=1e-6)
    assert img.min() >= 0 and img.max() <= 1
    with pytest.raises(ValueError, match=r"colors must have shape \(C, 3\)"):
        plots.region_image(W, B, colors=np.ones((2, 3)))


def test_tie_segments_meet_at_the_triple_point_and_are_ties():
    x_star = triple_point(W, B)
    segs = plots.tie_segments(W, B, extent=(-3, 3, -3, 3))
    assert sorted((i, j) for i, j, _, _ in segs) == [(0, 1), (0, 2), (1, 2)]
    for i, j, p, q in segs:
        assert np.allclose(p, x_star) or np.allclose(q, x_star)
        for point in (p, q, (p + q) / 2):
            s = point @ W + B
            assert np.isclose(s[i], s[j])                         # a tie ...
            assert s[i] >= np.delete(s, [i, j]).max() - 1e-9      # ... for the top score
            assert np.all(point >= -3 - 1e-9) and np.all(point <= 3 + 1e-9)


def test_tie_segments_two_classes_and_parallel_cases():
    # two classes: one straight boundary x_1 = 0.5 through the whole box
    W2 = np.array([[1.0, -1.0], [0.0, 0.0]])
    segs = plots.tie_segments(W2, np.array([-0.5, 0.5]), extent=(-1, 1, -1, 1))
    assert len(segs) == 1
    _, _, p, q = segs[0]
    assert np.allclose([p[0], q[0]], 0.5) and np.isclose(abs(p[1] - q[1]), 2.0)
    # equal weight vectors: no line to draw; a boundary outside the box: left out
    assert plots.tie_segments(np.zeros((2, 2)), np.array([0.0, 1.0])) == []
    assert plots.tie_segments(W2, np.array([-10.0, 10.0]), extent=(-1, 1, -1, 1)) == []
    # a class that never wins (third class dominated everywhere) has no boundary
    W3 = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]])
    segs = plots.tie_segments(W3, np.array([0.0, 0.0, -5.0]), extent=(-1, 1, -1, 1))
    assert [(i, j) for i, j, _, _ in segs] == [(0, 1)]


def test_plot_class_regions_draws_image_boundaries_and_legend():
    fig, ax = plt.subplots()
    try:
        out = plots.plot_class_regions(ax, W, B, resolution=20, labels=["A", "B", "C"])
        assert out is ax
        assert len(ax.images) == 1 and ax.images[0].get_array().shape == (20, 20, 3)
        assert len(ax.lines) == 3                                   # three boundary segments
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["A", "B", "C"]
        assert ax.get_xlim() == (-3.0, 3.0)
        with pytest.raises(ValueError, match="one name per class"):
            plots.plot_class_regions(ax, W, B, labels=["A"])
    finally:
        plt.close(fig)


def test_plot_probability_bars_heights_and_errors():
    fig, ax = plt.subplots()
    try:
        p = np.array([0.2, 0.5, 0.3])
        plots.plot_probability_bars(ax, p)
        heights = [r.get_height() for r in ax.patches]
        assert np.allclose(heights, p)
        assert [t.get_text() for t in ax.texts] == ["0.20", "0.50", "0.30"]
        assert ax.get_ylim()[0] == 0
        with pytest.raises(ValueError, match="lie in"):
            plots.plot_probability_bars(ax, [1.5, -0.5])
        with pytest.raises(ValueError, match="1-D"):
            plots.plot_probability_bars(ax, np.ones((2, 2)) / 4)
    finally:
        plt.close(fig)
