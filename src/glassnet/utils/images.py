"""`image_dataset_from_directory`: a folder of images as a PyDataset of batches (Keras' API).

    main_directory/
        cats/  a.jpg  b.png ...
        dogs/  c.jpg ...

    >>> train, val = image_dataset_from_directory("main_directory", image_size=(64, 64),
    ...                                           validation_split=0.2, subset="both", seed=1)
    >>> train.class_names
    ['cats', 'dogs']
    >>> model.fit(train, validation_data=val, epochs=5)

Files are listed, labelled, shuffled and split exactly as Keras does (sorted folders and
files, `np.random.RandomState(seed)`, the last `int(validation_split * n)` files for
validation), so the same seed puts the same files in each subset. Images are decoded and
resized by Pillow (a dependency of matplotlib), one batch at a time as `fit` asks for it.
Pillow's filters average over more pixels than TensorFlow's when shrinking an image, so
pixel values can differ slightly from Keras'; shapes, dtypes and labels are the same.
"""

from __future__ import annotations

import math
import os

import numpy as np

from glassnet import checks
from glassnet.random import make_generator
from glassnet.training.data.pydataset import PyDataset

FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
# Keras' interpolation names -> Pillow's filters (the closest one each).
_FILTERS = {"nearest": "NEAREST", "bilinear": "BILINEAR", "bicubic": "BICUBIC",
            "area": "BOX", "lanczos3": "LANCZOS", "lanczos5": "LANCZOS",
            "gaussian": "BILINEAR", "mitchellcubic": "BICUBIC"}
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}


class ImageFolderDataset(PyDataset):
    """Batches of (images, labels) read from files (see `image_dataset_from_directory`).

    Attributes:
        file_paths: the files, in the order served.
        class_names: the class of each label (None without labels).
    """

    def __init__(self, file_paths: list[str], labels, label_mode: str | None,
                 class_names: list[str] | None, batch_size: int | None, image_size: tuple,
                 color_mode: str, interpolation: str, data_format: str,
                 crop_to_aspect_ratio: bool, pad_to_aspect_ratio: bool):
        super().__init__()
        self.file_paths, self.labels, self.label_mode = file_paths, labels, label_mode
        self.class_names, self.batch_size, self.image_size = class_names, batch_size, image_size
        self.color_mode, self.interpolation, self.data_format = (color_mode, interpolation,
                                                                 data_format)
        self.crop, self.pad = crop_to_aspect_ratio, pad_to_aspect_ratio

    def __len__(self) -> int:
        if self.batch_size is None:
            return len(self.file_paths)
        return math.ceil(len(self.file_paths) / self.batch_size)

    def __getitem__(self, index: int):
        """Batch `index`: float32 images (b, height, width, channels) (channels first if
        asked), and labels as `label_mode` says; without a batch size, one image."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"batch {index} of a dataset of {len(self)}")
        index %= len(self)
        size = 1 if self.batch_size is None else self.batch_size
        part = slice(index * size, (index + 1) * size)
        images = np.stack([self.load(path) for path in self.file_paths[part]])
        labels = None if self.labels is None else self.encode(self.labels[part])
        if self.batch_size is None:
            images = images[0]
            labels = None if labels is None else labels[0]
        return images if labels is None else (images, labels)

    def __iter__(self):
        return (self[index] for index in range(len(self)))

    def encode(self, labels: np.ndarray) -> np.ndarray:
        if self.label_mode == "categorical":
            return np.eye(len(self.class_names), dtype="float32")[labels]  # (b, classes)
        if self.label_mode == "binary":
            return labels.astype("float32")[:, None]  # (b, 1)
        return labels.astype("int32")  # (b,)

    def load(self, path: str) -> np.ndarray:
        """One image: decoded, converted to the colour mode, fitted to `image_size`."""
        from PIL import Image  # here: `import glassnet` reads no image library

        with Image.open(path) as image:
            channels = _CHANNELS[self.color_mode]
            mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
            if image.mode != mode and not (channels == 1 and image.mode in ("I;16", "I")):
                image = image.convert(mode)
            height, width = self.image_size
            if self.crop or self.pad:
                image = _fit_aspect_ratio(image, height, width, crop=self.crop)
            filter_ = getattr(Image.Resampling, _FILTERS[self.interpolation])
            pixels = np.asarray(image.resize((width, height), filter_), dtype="float32")
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]  # (height, width, 1)
        return pixels.transpose(2, 0, 1) if self.data_format == "channels_first" else pixels


def _fit_aspect_ratio(image, height: int, width: int, crop: bool):
    """The centred window of the target aspect ratio (Keras' `crop_to_aspect_ratio`), or
    the image centred on black padding of that ratio (`pad_to_aspect_ratio`)."""
    from PIL import Image

    old_width, old_height = image.size
    new_height = int(old_width * height / width)
    new_width = int(old_height * width / height)
    if crop:
        new_height = max(min(old_height, new_height), 1)
        new_width = max(min(old_width, new_width), 1)
        top, left = (old_height - new_height) // 2, (old_width - new_width) // 2
        return image.crop((left, top, left + new_width, top + new_height))
    new_height, new_width = max(old_height, new_height), max(old_width, new_width)
    padded = Image.new(image.mode, (new_width, new_height))
    padded.paste(image, ((new_width - old_width) // 2, (new_height - old_height) // 2))
    return padded


def image_dataset_from_directory(directory, labels="inferred", label_mode: str | None = "int",
                                 class_names=None, color_mode: str = "rgb",
                                 batch_size: int | None = 32, image_size=(256, 256),
                                 shuffle: bool = True, seed: int | None = None,
                                 validation_split: float | None = None,
                                 subset: str | None = None, interpolation: str = "bilinear",
                                 follow_links: bool = False, crop_to_aspect_ratio: bool = False,
                                 pad_to_aspect_ratio: bool = False,
                                 data_format: str | None = None, format: str = "tf",
                                 verbose: bool = True):
    """The images under `directory` (.bmp .gif .jpeg .jpg .png) as batches for `fit`.

    Args (Keras' names and defaults):
        directory: with `labels="inferred"`, one subfolder per class; else any layout.
        labels: "inferred" (from the subfolders), None, or one int per file in sorted path
            order.
        label_mode: "int" (int32 (b,)), "categorical" (float32 one-hot (b, classes)),
            "binary" (float32 (b, 1), two classes), or None (images only).
        class_names: the subfolders to use, in label order (default: all, sorted).
        color_mode: "grayscale", "rgb" or "rgba" (1, 3 or 4 channels).
        batch_size: images per batch; None serves single images.
        image_size: (height, width) every image is resized to (an int: a square).
        shuffle, seed: shuffle the files once (Keras' draw); `seed` also fixes the split.
        validation_split, subset: keep the first ("training") or the last ("validation")
            `int(validation_split * n)` files of the shuffled list, or "both" for the two.
        interpolation: the resizing filter (Keras' names, mapped to Pillow's closest).
        follow_links: follow symbolic links to folders.
        crop_to_aspect_ratio, pad_to_aspect_ratio: keep the aspect ratio by cropping the
            largest centred window, or by padding with black, before resizing.
        data_format: "channels_last" (default) or "channels_first".
        format: "tf" or "grain", Keras' dataset types; either gives a PyDataset here.
        verbose: print how many files and classes were found.

    Returns:
        An `ImageFolderDataset` (a PyDataset with `class_names` and `file_paths`), or a
        (training, validation) pair for `subset="both"`.
    """
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple)):
        raise ValueError(f"labels: expected 'inferred', None or a list of ints, got {labels!r}")
    if labels not in ("inferred", None) and class_names:
        raise ValueError("class_names: only with labels='inferred'")
    checks.one_of("label_mode", label_mode, ("int", "categorical", "binary", None))
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    checks.one_of("color_mode", color_mode, tuple(_CHANNELS))
    image_size = (image_size, image_size) if isinstance(image_size, int) else image_size
    if not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(f"image_size: expected (height, width), got {image_size!r}")
    image_size = tuple(checks.positive_integer("image_size", d) for d in image_size)
    interpolation = checks.one_of("interpolation", str(interpolation).lower(), tuple(_FILTERS))
    checks.one_of("format", format, ("tf", "grain"))
    data_format = checks.one_of("data_format", data_format or "channels_last",
                                ("channels_last", "channels_first"))
    checks.optional(checks.positive_integer, "batch_size", batch_size)
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("only one of crop_to_aspect_ratio and pad_to_aspect_ratio may be set")
    _check_split(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = int(make_generator(None).integers(1_000_000))
    paths, labels, class_names = _index(os.fspath(directory), labels, class_names, follow_links,
                                        verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f"label_mode='binary' needs exactly 2 classes, got {class_names}")
    if shuffle:
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)

    def dataset(part: str | None) -> ImageFolderDataset:
        chosen_paths, chosen_labels = paths, labels
        if validation_split:
            count = int(validation_split * len(paths))
            cut = slice(-count, None) if part == "validation" else slice(None, -count)
            chosen_paths = paths[cut]
            chosen_labels = None if labels is None else labels[cut]
            if verbose:
                print(f"Using {len(chosen_paths)} files for {part}.")
        return ImageFolderDataset(list(chosen_paths), chosen_labels, label_mode, class_names,
                                  batch_size, image_size, color_mode, interpolation,
                                  data_format, crop_to_aspect_ratio, pad_to_aspect_ratio)

    if subset == "both":
        return dataset("training"), dataset("validation")
    return dataset(subset)


def _check_split(validation_split, subset, shuffle: bool, seed) -> None:
    """Keras' rules (dataset_utils.check_validation_split_arg)."""
    if validation_split is not None:
        checks.in_range("validation_split", validation_split, 0.0, 1.0)
    if bool(validation_split) != bool(subset):
        raise ValueError("validation_split and subset: give both or neither")
    checks.one_of("subset", subset, ("training", "validation", "both", None))
    if validation_split and shuffle and seed is None:
        raise ValueError("validation_split with shuffle=True needs a seed, so that the "
                         "training and validation subsets do not overlap")


def _index(directory: str, labels, class_names, follow_links: bool, verbose: bool):
    """(file paths, labels or None, class names or None), listed as Keras lists them."""
    if not os.path.isdir(directory):
        raise ValueError(f"directory: {directory!r} is not a folder")
    if labels == "inferred":
        folders = [name for name in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, name)) and not name.startswith(".")]
        if class_names is not None:
            if not set(class_names) <= set(folders):
                raise ValueError(f"class_names: {list(class_names)} must name subfolders of "
                                 f"{directory}: {folders}")
            folders = list(class_names)
    else:
        if class_names is not None:
            raise ValueError("class_names: only with labels='inferred'")
        folders = [""]
    paths, found_labels = [], []
    for label, folder in enumerate(folders):
        top = os.path.join(directory, folder)
        for root, _, files in sorted(os.walk(top, followlinks=follow_links),
                                     key=lambda entry: entry[0]):
            for name in sorted(files):
                if name.lower().endswith(FORMATS):
                    paths.append(os.path.join(root, name))
                    found_labels.append(label)
    if labels == "inferred":
        labels, class_names = np.array(found_labels, dtype="int32"), list(folders)
    elif labels is not None:
        if len(labels) != len(paths):
            raise ValueError(f"labels: {len(labels)} given for {len(paths)} image files in "
                             f"{directory}")
        class_names = [str(label) for label in sorted(set(labels))]
        labels = np.asarray(labels, dtype="int32")
    if verbose:
        classes = "" if labels is None else f" belonging to {len(class_names)} classes"
        print(f"Found {len(paths)} files{classes}.")
    return paths, labels, class_names


__all__ = ["FORMATS", "ImageFolderDataset", "image_dataset_from_directory"]
