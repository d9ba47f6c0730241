"""Models for inference outside glassnet: `model.export(path, format="onnx")`, as in Keras 3.

`export_model` is what `Model.export` calls: it checks the format and hands over to the
exporter. ONNX is the one format glassnet writes (the others Keras names need TensorFlow,
OpenVINO or PyTorch); the `onnx` package it needs is an optional extra,
`pip install "glassnet[onnx]"`, imported only when a model is exported.
"""

from __future__ import annotations

KERAS_FORMATS = ("tf_saved_model", "onnx", "openvino", "litert", "torch")


def export_model(model, filepath, format: str = "onnx", verbose=None, input_signature=None,
                 **kwargs) -> None:
    """Write `model` for inference elsewhere; `format="onnx"` (see `glassnet.export.onnx`).

    Args:
        model: a built Sequential or Functional model.
        filepath: where to write the file, e.g. "model.onnx".
        format: "onnx". Keras' other formats are refused with a ValueError.
        verbose: print where the artifact went (default True, as Keras).
        input_signature: optional specs to rename inputs or fix sizes (see `to_onnx`).
        **kwargs: `opset_version` (17 or later; default 18).
    """
    if format != "onnx":
        if format in KERAS_FORMATS:
            raise ValueError(f"export: format={format!r} needs a backend glassnet does not "
                             f"have; glassnet exports format='onnx'")
        raise ValueError(f"Unrecognized format={format!r}. Supported formats are: ['onnx'] "
                         f"(of Keras' {list(KERAS_FORMATS)})")
    from glassnet.export.onnx import export_onnx

    export_onnx(model, filepath, verbose=verbose, input_signature=input_signature, **kwargs)


__all__ = ["KERAS_FORMATS", "export_model"]
