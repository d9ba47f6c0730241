"""Small public helpers, under the names Keras users look for (`keras.utils`).

    sequences.py   pad_sequences: lists of different lengths as one matrix
    numerical.py   normalize: unit-norm vectors (to_categorical lives in preprocessing)
    splitting.py   split_dataset: arrays cut in two, Keras' sizes and shuffle
    timeseries.py  timeseries_dataset_from_array: sliding windows as a PyDataset
    images.py      image_dataset_from_directory: a folder of images as a PyDataset
    model_visualization.py  plot_model: the layer graph as an image (matplotlib, lazily);
                   model_graph.py lays the graph out
"""

from __future__ import annotations

from glassnet.backend import clear_session
from glassnet.preprocessing import to_categorical
from glassnet.random import set_random_seed
from glassnet.training.data.pydataset import PyDataset, Sequence
from glassnet.utils.images import image_dataset_from_directory
from glassnet.utils.model_visualization import plot_model
from glassnet.utils.numerical import normalize
from glassnet.utils.sequences import pad_sequences
from glassnet.utils.splitting import split_dataset
from glassnet.utils.timeseries import timeseries_dataset_from_array

__all__ = ["PyDataset", "Sequence", "clear_session", "image_dataset_from_directory", "normalize",
           "pad_sequences", "plot_model", "set_random_seed", "split_dataset",
           "timeseries_dataset_from_array", "to_categorical"]
