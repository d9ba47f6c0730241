"""report.html: one self-contained page (figures embedded) for a tour of the demos."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from glassnet.io import atomic_write

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h2{border-bottom:1px solid #ccc;padding-bottom:.2em}img{max-width:100%;margin:.5em 0}
code,pre{background:#f4f4f4;padding:.2em .4em}table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:.2em .6em;text-align:left}.skip{color:#a00}"""


def _metrics_table(metrics: dict) -> str:
    rows = []
    for key, value in metrics.items():
        if isinstance(value, float):
            value = f"{value:.4f}"
        elif isinstance(value, list):
            value = json.dumps(value)
        rows.append(f"<tr><th>{html.escape(key)}</th><td>{html.escape(str(value))}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def _image(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(Path(path).name)}" src="data:image/png;base64,{data}">'


def write_report(results, path) -> Path:
    from glassnet import __version__

    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>glassnet demos</title>"
             f"<style>{STYLE}</style></head><body><h1>glassnet {__version__}: the demo tour</h1>"]
    for result in results:
        parts.append(f"<h2>{html.escape(result.title)}</h2>")
        if result.error:
            parts.append(f"<p class='skip'>Skipped: {html.escape(result.error)}</p>")
            continue
        parts.append(f"<p>Reproduce: <code>{html.escape(result.command)}</code> "
                     f"({result.seconds:.1f} s)</p>")
        parts.append(_metrics_table(result.metrics))
        parts.extend(_image(figure) for figure in result.figures)
    parts.append("</body></html>")
    path = Path(path)
    with atomic_write(path, mode="w") as file:
        file.write("\n".join(parts))
    return path
