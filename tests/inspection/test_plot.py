"""glassnet.plot: each figure's structure (axes, titles, lines, colours) and the saved PNG."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from glassnet import plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RED = to_rgba(plot.WRONG_COLOR)


def assert_png(path) -> None:
    data = path.read_bytes()
    assert len(data) > 1000
    assert data[:8] == PNG_SIGNATURE


class FakeHistory:
    """What `model.fit` returns: only the `.history` dict matters to the plots."""

    def __init__(self, history):
        self.history = history


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# ----------------------------------------------------------------------------------------------
# Learning curves
# ----------------------------------------------------------------------------------------------


HISTORY = {
    "accuracy": [0.5, 0.7, 0.8, 0.85],
    "loss": [1.2, 0.6, 0.4, 0.3],
    "val_accuracy": [0.45, 0.65, 0.7, 0.72],
    "val_loss": [1.3, 0.8, 0.7, 0.75],
}


def test_learning_curves_one_subplot_per_metric_loss_first(tmp_path):
    path = tmp_path / "curves.png"
    fig = plot.learning_curves(FakeHistory(HISTORY), title="Run 1", path=path)
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert fig.get_suptitle() == "Run 1"
    loss_ax = fig.axes[0]
    train, validation = loss_ax.get_lines()
    assert (train.get_label(), validation.get_label()) == ("train", "validation")
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3, 4])   # epochs from 1
    np.testing.assert_allclose(validation.get_ydata(), HISTORY["val_loss"])
    assert loss_ax.get_xlabel() == "Epoch"
    assert loss_ax.get_legend() is not None
    assert_png(path)


def test_learning_curves_accepts_dict_log_loss_and_metric_choice():
    fig = plot.learning_curves(HISTORY, log_loss=True)
    assert [ax.get_yscale() for ax in fig.axes] == ["log", "linear"]
    fig = plot.learning_curves(HISTORY, metrics=["accuracy"])
    assert [ax.get_title() for ax in fig.axes] == ["accuracy"]


def test_learning_curves_without_validation_draws_train_only():
    fig = plot.learning_curves({"loss": [3.0, 2.0, 1.0]})
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["train"]


def test_learning_curves_bad_inputs():
    with pytest.raises(ValueError, match="metrics"):
        plot.learning_curves(HISTORY, metrics=["mae"])
    with pytest.raises(TypeError, match="history"):
        plot.learning_curves([1.0, 0.5])
    with pytest.raises(ValueError, match="history"):
        plot.learning_curves({})


def test_compare_learning_curves_colour_per_run_dashed_validation(tmp_path):
    path = tmp_path / "compare.png"
    runs = {"seed recipe": FakeHistory(HISTORY), "modern recipe": {"loss": [0.9, 0.2, 0.1]}}
    fig = plot.compare_learning_curves(runs, metric="loss", validation_label="test", path=path)
    (ax,) = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"seed recipe (train)", "seed recipe (test)", "modern recipe (train)"}
    assert lines["seed recipe (train)"].get_color() == lines["seed recipe (test)"].get_color()
    assert lines["seed recipe (train)"].get_color() != lines["modern recipe (train)"].get_color()
    assert lines["seed recipe (test)"].get_linestyle() == "--"
    assert lines["seed recipe (train)"].get_linestyle() == "-"
    assert ax.get_xlabel() == "Epoch"
    assert_png(path)


def test_compare_learning_curves_several_metrics_and_given_axes():
    runs = {"a": HISTORY, "b": HISTORY}
    fig = plot.compare_learning_curves(runs, metric=["loss", "accuracy"], title="a vs b")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert fig.get_suptitle() == "a vs b"

    own = Figure()
    ax = own.add_subplot()
    returned = plot.compare_learning_curves(runs, metric="accuracy", ax=ax)
    assert returned is own
    assert len(ax.get_lines()) == 4


def test_compare_learning_curves_bad_inputs():
    with pytest.raises(ValueError, match="metric"):
        plot.compare_learning_curves({"a": HISTORY}, metric="mae")
    with pytest.raises(ValueError, match="histories"):
        plot.compare_learning_curves({})
    ax = Figure().add_subplot()
    with pytest.raises(ValueError, match="ax"):
        plot.compare_learning_curves({"a": HISTORY}, metric=["loss", "accuracy"], ax=ax)


# ----------------------------------------------------------------------------------------------
# Regression
# ----------------------------------------------------------------------------------------------


def test_predicted_vs_actual_r2_in_title_and_identity_line(tmp_path, rng):
    from sklearn.metrics import r2_score

    y_true = rng.normal(size=50)
    y_pred = (y_true + rng.normal(scale=0.3, size=50)).reshape(-1, 1)   # (N, 1) against (N,)
    path = tmp_path / "regression.png"
    fig = plot.predicted_vs_actual(y_true, y_pred, title="Test set", path=path)
    (ax,) = fig.axes
    expected = r2_score(y_true, y_pred.ravel())
    assert ax.get_title() == f"Test set (R² = {expected:.3f})"
    (identity,) = ax.get_lines()
    np.testing.assert_array_equal(identity.get_xdata(), identity.get_ydata())
    assert identity.get_xdata()[0] <= min(y_true.min(), y_pred.min())
    assert identity.get_xdata()[1] >= max(y_true.max(), y_pred.max())
    assert len(ax.collections[0].get_offsets()) == 50
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Actual", "Predicted")
    assert_png(path)


def test_predicted_vs_actual_perfect_fit_and_bad_inputs():
    y = np.array([1.0, 2.0, 4.0], dtype=np.float32)
    assert "R² = 1.000" in plot.predicted_vs_actual(y, y).axes[0].get_title()
    with pytest.raises(ValueError, match="y_pred"):
        plot.predicted_vs_actual(y, y[:2])
    with pytest.raises(ValueError, match="y_pred"):
        plot.predicted_vs_actual(y.reshape(3, 1), np.ones((3, 2)))


# ----------------------------------------------------------------------------------------------
# Image grid
# ----------------------------------------------------------------------------------------------


def test_image_grid_titles_and_red_wrong_guesses(tmp_path, rng):
    images = rng.random((6, 256))   # flat 16 x 16 digits, as in the semeion data
    actual = np.array([5, 7, 9, 4, 3, 8])
    guess = np.eye(10)[[5, 7, 9, 4, 8, 8]]   # one-hot rows; index 4 is wrong (3 -> 8)
    path = tmp_path / "grid.png"
    fig = plot.image_grid(images, actual, guess, cols=3, path=path)
    assert len(fig.axes) == 6
    titles = [ax.title for ax in fig.axes]
    assert titles[4].get_text() == "Actual: 3 / Guess: 8"
    assert titles[0].get_text() == "Actual: 5 / Guess: 5"
    assert to_rgba(titles[4].get_color()) == RED
    assert to_rgba(titles[0].get_color()) != RED
    wrong_spines = fig.axes[4].spines.values()
    assert all(spine.get_visible() and to_rgba(spine.get_edgecolor()) == RED
               for spine in wrong_spines)
    assert not any(spine.get_visible() for spine in fig.axes[0].spines.values())
    assert fig.axes[0].images[0].get_array().shape == (16, 16)
    assert fig.get_suptitle() == "Right: 5  Wrong: 1  Accuracy: 83%"
    assert_png(path)


def test_image_grid_shape_n_class_names_and_no_predictions(rng):
    images = rng.random((8, 12))
    fig = plot.image_grid(images, np.arange(8) % 2, n=4, shape=(3, 4), class_names=["no", "yes"])
    assert len(fig.axes) == 4
    assert fig.axes[1].get_title() == "Actual: yes"
    assert fig.axes[0].images[0].get_array().shape == (3, 4)
    assert fig.get_suptitle() == ""


def test_image_grid_bad_inputs(rng):
    with pytest.raises(ValueError, match="images"):
        plot.image_grid(rng.random((3, 10)), [0, 1, 2])   # 10 pixels are not a square
    with pytest.raises(ValueError, match="labels_true"):
        plot.image_grid(rng.random((3, 4, 4)), [0, 1])
    with pytest.raises(ValueError, match="labels_pred"):
        plot.image_grid(rng.random((3, 4, 4)), [0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="class_names"):
        plot.image_grid(rng.random((3, 4, 4)), [0, 1, 2], class_names=["a", "b"])
    with pytest.raises(ValueError, match="n"):
        plot.image_grid(rng.random((3, 4, 4)), [0, 1, 2], n=4)


# ----------------------------------------------------------------------------------------------
# Confusion matrix
# ----------------------------------------------------------------------------------------------


def cell_texts(ax) -> list[str]:
    return [text.get_text() for text in ax.texts]


def test_confusion_matrix_counts_match_sklearn(tmp_path, rng):
    from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

    y_true = rng.integers(0, 4, size=100)
    probabilities = rng.random((100, 4))   # argmax gives the predicted class
    path = tmp_path / "confusion.png"
    fig = plot.confusion_matrix(y_true, probabilities, class_names=list("abcd"), path=path)
    ax = fig.axes[0]
    expected = sklearn_confusion_matrix(y_true, probabilities.argmax(axis=1), labels=range(4))
    assert cell_texts(ax) == [str(count) for count in expected.ravel()]
    np.testing.assert_array_equal(ax.images[0].get_array(), expected)
    assert [label.get_text() for label in ax.get_xticklabels()] == list("abcd")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Predicted label", "True label")
    assert len(fig.axes) == 2   # the heatmap and its colour bar
    assert_png(path)


@pytest.mark.parametrize("normalize, axis", [("true", 1), ("pred", 0)])
def test_confusion_matrix_normalized_rows_or_columns_sum_to_one(normalize, axis, rng):
    y_true = np.eye(3)[rng.integers(0, 3, size=60)]   # one-hot targets
    y_pred = rng.integers(0, 3, size=60)
    fig = plot.confusion_matrix(y_true, y_pred, normalize=normalize)
    matrix = np.asarray(fig.axes[0].images[0].get_array())
    np.testing.assert_allclose(matrix.sum(axis=axis), 1.0)
    assert all("." in text for text in cell_texts(fig.axes[0]))


def test_confusion_matrix_binary_probabilities_are_thresholded():
    fig = plot.confusion_matrix([0, 0, 1, 1], np.array([[0.2], [0.7], [0.9], [0.4]]))
    assert cell_texts(fig.axes[0]) == ["1", "1", "1", "1"]


def test_confusion_matrix_counts_with_the_metrics_module(monkeypatch):
    calls = []

    def confusion_matrix(y_true, y_pred, num_classes=None):
        calls.append(num_classes)
        return np.array([[7, 0], [0, 9]])

    monkeypatch.setattr(plot.metrics, "confusion_matrix", confusion_matrix)
    fig = plot.confusion_matrix([0, 1], [0, 1])
    assert calls == [2]
    assert cell_texts(fig.axes[0]) == ["7", "0", "0", "9"]


def test_confusion_matrix_bad_inputs():
    with pytest.raises(ValueError, match="y_pred"):
        plot.confusion_matrix([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="normalize"):
        plot.confusion_matrix([0, 1], [0, 1], normalize="rows")
    with pytest.raises(ValueError, match="y_true"):
        plot.confusion_matrix(np.zeros((2, 2, 2)), [0, 1])


# ----------------------------------------------------------------------------------------------
# Decision boundary
# ----------------------------------------------------------------------------------------------


class LineModel:
    """p(class 1) = sigmoid(4 (x1 - x0)): the boundary is the diagonal x1 = x0."""

    def __init__(self):
        self.inputs = []

    def predict(self, x, batch_size=None, verbose="auto"):
        self.inputs.append((x, batch_size, verbose))
        return sigmoid(4 * (x[:, 1:2] - x[:, 0:1]))   # (M, 1)


def two_blobs(rng):
    x = np.concatenate([rng.normal([1, -1], 0.3, (20, 2)), rng.normal([-1, 1], 0.3, (20, 2))])
    return x.astype(np.float32), np.repeat([0, 1], 20)


def test_decision_boundary_binary_model(tmp_path, rng):
    x, y = two_blobs(rng)
    model = LineModel()
    path = tmp_path / "boundary.png"
    fig = plot.decision_boundary(model, x, y, resolution=30, feature_names=["a", "b"], path=path)
    (grid, batch_size, verbose), = model.inputs
    assert grid.shape == (900, 2) and grid.dtype == np.float32
    assert verbose == 0 and batch_size == 900
    assert np.all(grid.min(axis=0) < x.min(axis=0)) and np.all(grid.max(axis=0) > x.max(axis=0))
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("a", "b")
    assert len(fig.axes) == 2   # the plot and the P(class 1) colour bar
    assert fig.axes[1].get_ylabel() == "P(class 1)"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    scatter_sizes = [len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_sizes")
                     and len(c.get_offsets()) == 20]
    assert scatter_sizes == [20, 20]
    assert_png(path)


def test_decision_boundary_multiclass_callable_and_given_axes(rng):
    x = rng.normal(size=(30, 2))
    y = rng.integers(0, 3, size=30)
    seen = []

    def three_classes(grid):   # class = which third of the plane by angle
        seen.append(grid.shape)
        angle = np.arctan2(grid[:, 1], grid[:, 0])
        return np.eye(3)[np.digitize(angle, [-np.pi / 3, np.pi / 3])]

    own = Figure()
    ax = own.add_subplot()
    fig = plot.decision_boundary(three_classes, x, np.eye(3)[y], resolution=20, ax=ax,
                                 class_names=["r", "g", "b"])
    assert fig is own and seen == [(400, 2)]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["r", "g", "b"]


def test_decision_boundary_bad_inputs(rng):
    model = LineModel()
    with pytest.raises(ValueError, match="x"):
        plot.decision_boundary(model, rng.normal(size=(10, 3)), np.zeros(10))
    with pytest.raises(ValueError, match="x"):
        plot.decision_boundary(model, rng.normal(size=10), np.zeros(10))
    with pytest.raises(ValueError, match="y"):
        plot.decision_boundary(model, rng.normal(size=(10, 2)), np.zeros(9))
    with pytest.raises(ValueError, match="resolution"):
        plot.decision_boundary(model, rng.normal(size=(10, 2)), np.zeros(10), resolution=1)
    with pytest.raises(TypeError, match="model_or_fn"):
        plot.decision_boundary(object(), rng.normal(size=(10, 2)), np.zeros(10))


# ----------------------------------------------------------------------------------------------
# Saving and global state
# ----------------------------------------------------------------------------------------------


def test_save_is_atomic_and_creates_folders(tmp_path, monkeypatch):
    target = tmp_path / "figures" / "loss.png"
    plot.learning_curves(HISTORY, path=target)
    assert_png(target)
    before = target.read_bytes()

    def broken_savefig(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="disk full"):
        plot.learning_curves({"loss": [1.0, 2.0]}, path=target)
    assert target.read_bytes() == before   # the old file is untouched
    assert [p.name for p in target.parent.iterdir()] == ["loss.png"]   # no temp file left


def test_saved_file_gets_the_usual_permissions(tmp_path):
    reference = tmp_path / "reference.png"
    reference.write_bytes(b"")   # created like any file: mode 0o666 minus the umask
    target = plot.save(plot.learning_curves(HISTORY), tmp_path / "curves.png")
    assert target.stat().st_mode == reference.stat().st_mode


def test_importing_and_plotting_never_touches_pyplot():
    code = (
        "import sys; from glassnet import plot; "
        "plot.learning_curves({'loss': [1.0, 0.5]}); "
        "assert 'matplotlib.pyplot' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
