"""image_dataset_from_directory: Keras' listing, labels, split and shapes, on small PNGs."""

from __future__ import annotations

import os

import numpy as np
import pytest

from glassnet.utils import PyDataset, image_dataset_from_directory

Image = pytest.importorskip("PIL.Image")


@pytest.fixture
def folder(tmp_path):
    """cats/ with 3 images, dogs/ with 2; each image a flat colour whose red value names it."""
    for label, (name, count) in enumerate((("cats", 3), ("dogs", 2))):
        (tmp_path / name).mkdir()
        for k in range(count):
            pixels = np.full((8, 12, 3), (10 * label + k, 100, 200), np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"img{k}.png")
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden").mkdir()
    return tmp_path


def test_inferred_labels_in_sorted_order(folder, capsys):
    data = image_dataset_from_directory(folder, image_size=(4, 6), shuffle=False, batch_size=2)
    assert isinstance(data, PyDataset) and len(data) == 3
    assert "Found 5 files belonging to 2 classes." in capsys.readouterr().out
    assert data.class_names == ["cats", "dogs"]
    images, labels = data[0]
    assert images.shape == (2, 4, 6, 3) and images.dtype == np.float32
    assert labels.dtype == np.int32 and labels.tolist() == [0, 0]
    np.testing.assert_array_equal(images[1, :, :, 0], 1.0)  # cats/img1.png, resized
    assert [labels.tolist() for _, labels in data] == [[0, 0], [0, 1], [1]]
    assert [os.path.basename(p) for p in data.file_paths] == ["img0.png", "img1.png",
                                                               "img2.png", "img0.png",
                                                               "img1.png"]


def test_label_and_colour_modes(folder):
    kwargs = {"image_size": (4, 4), "shuffle": False, "verbose": False, "batch_size": 5}
    _, one_hot = image_dataset_from_directory(folder, label_mode="categorical", **kwargs)[0]
    assert one_hot.dtype == np.float32 and one_hot.tolist()[3] == [0.0, 1.0]
    _, binary = image_dataset_from_directory(folder, label_mode="binary", **kwargs)[0]
    assert binary.shape == (5, 1) and binary.ravel().tolist() == [0, 0, 0, 1, 1]
    grey = image_dataset_from_directory(folder, label_mode=None, color_mode="grayscale",
                                        **kwargs)[0]
    assert grey.shape == (5, 4, 4, 1)
    rgba, _ = image_dataset_from_directory(folder, color_mode="rgba",
                                           data_format="channels_first", **kwargs)[0]
    assert rgba.shape == (5, 4, 4, 4) and np.all(rgba[:, 3] == 255)
    single, label = image_dataset_from_directory(folder, batch_size=None, image_size=3,
                                                 verbose=False, shuffle=False)[4]
    assert single.shape == (3, 3, 3) and label == 1


def test_shuffle_and_split_follow_keras(folder):
    train, val = image_dataset_from_directory(folder, validation_split=0.4, subset="both",
                                              seed=7, image_size=(4, 4), verbose=False)
    paths = sorted(str(p) for p in folder.rglob("*.png"))
    np.random.RandomState(7).shuffle(paths)  # Keras' draw over the sorted listing
    assert train.file_paths == paths[:3] and val.file_paths == paths[3:]
    _, labels = val[0]
    assert labels.tolist() == [0 if "cats" in p else 1 for p in paths[3:]]


def test_aspect_ratio_crop_and_pad(tmp_path):
    (tmp_path / "a").mkdir()
    pixels = np.zeros((10, 20, 3), np.uint8)
    pixels[:, 5:15] = 255  # a white centre square in a black 10x20 image
    Image.fromarray(pixels).save(tmp_path / "a" / "x.png")
    kwargs = {"image_size": (4, 4), "verbose": False, "interpolation": "nearest"}
    cropped, _ = image_dataset_from_directory(tmp_path, crop_to_aspect_ratio=True, **kwargs)[0]
    assert np.all(cropped == 255)  # the centred 10x10 window is all white
    padded, _ = image_dataset_from_directory(tmp_path, pad_to_aspect_ratio=True, **kwargs)[0]
    assert np.all(padded[0, 0] == 0) and np.all(padded[0, 2, 1:3] == 255)


@pytest.mark.parametrize("arguments, message", [
    ({"label_mode": "sparse"}, "label_mode"),
    ({"validation_split": 0.2}, "give both or neither"),
    ({"validation_split": 0.2, "subset": "training"}, "needs a seed"),
    ({"class_names": ["cats", "birds"]}, "must name subfolders"),
    ({"labels": [0, 1]}, "2 given for 5 image files"),
    ({"crop_to_aspect_ratio": True, "pad_to_aspect_ratio": True}, "only one of"),
    ({"interpolation": "cubic"}, "interpolation"),
])
def test_bad_arguments(folder, arguments, message):
    with pytest.raises(ValueError, match=message):
        image_dataset_from_directory(folder, verbose=False, **arguments)
    with pytest.raises(ValueError, match="label_mode='binary' needs exactly 2 classes"):
        image_dataset_from_directory(folder, class_names=["cats"], label_mode="binary",
                                     verbose=False)
