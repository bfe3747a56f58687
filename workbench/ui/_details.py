"""The HTML the workbench writes into its outputs: a variant's details with its downloads,
a lens's numbers, and errors. Strings only, no widgets: the widget sets them as values.
"""

from __future__ import annotations

import base64
import html
import json

from ..report import STYLE, snippet_title
from ..targets import c_source


def details_html(comparison, variant: str) -> str:
    """What a measured variant is: its I/O, ops, where it runs, the code that makes it and
    downloads of the file, its C source and (for a recipe) the recipe as applied."""
    converted = comparison.variants[variant]
    io = [f"input  {t.describe()}" for t in converted.inputs] + [
        f"output {t.describe()}" for t in converted.outputs
    ]
    ops = ", ".join(f"{op} ×{n}" for op, n in converted.ops.items())
    filename = f"{comparison.model_name}-{converted.key}.tflite"
    return (
        f"<h4>{html.escape(variant)}: {converted.size_bytes:,} bytes</h4>"
        f"<pre>{html.escape(chr(10).join(io))}</pre><p><b>ops:</b> {html.escape(ops)}</p>"
        f"{_deployment_html(comparison, variant)}"
        f"<details><summary>What the file really is</summary>"
        f"<pre>{html.escape(converted.summary(runtimes=False))}</pre></details>"
        f"<p><b>{html.escape(snippet_title(converted))}</b></p>"
        f"<pre>{html.escape(converted.mode.snippet(calibration=converted.calibration))}</pre>"
        + _download(filename, "application/octet-stream", converted.content, f"Download {filename}")
        + f" · {_c_source_links(filename, converted.content)}"
        f"{_recipe_link(filename, converted)}"
    )


def lens_html(found) -> str:
    """A lens's notes and its table of numbers (floats to six significant digits)."""
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in found.notes)
    rows = found.table.assign(
        value=[f"{v:.6g}" if isinstance(v, float) else str(v) for v in found.table["value"]]
    )
    return (f"<ul>{notes}</ul>" if notes else "") + STYLE + rows.to_html()


def error_html(message: str, details: str = "", *, titled: bool = True) -> str:
    """An error in red, ``details`` (a traceback) folded under it."""
    folded = (
        f"<details><summary>details</summary><pre>{html.escape(details)}</pre></details>" if details else ""
    )
    title = "<b>Error:</b> " if titled else ""
    return f'<div style="color:#a00">{title}{html.escape(message)}</div>{folded}'


def _download(name: str, mime: str, data: bytes, text: str) -> str:
    """A link that saves ``data`` as the file ``name`` (the page needs no server for it)."""
    encoded = base64.b64encode(data).decode()
    return f'<a download="{html.escape(name)}" href="data:{mime};base64,{encoded}">{html.escape(text)}</a>'


def _recipe_link(filename: str, converted) -> str:
    """A download of the LiteRT Quantizer recipe as applied (JSON the library loads back)."""
    if converted.recipe is None:
        return ""
    name = filename[: -len(".tflite")] + "_recipe.json"
    recipe = json.dumps(converted.recipe, indent=1).encode()
    return " · " + _download(name, "application/json", recipe, f"LiteRT Quantizer recipe {name}")


def _c_source_links(filename: str, content: bytes) -> str:
    """Download links for the model as C source (``.cc`` and ``.h``) for TFLite Micro."""
    stem = filename.rsplit(".", 1)[0]
    source, header = c_source(content, "g_model")
    source = source.replace('#include "g_model_data.h"', f'#include "{stem}.h"')
    links = [
        _download(name, "text/plain", text.encode(), name)
        for name, text in ((stem + ".cc", source), (stem + ".h", header))
    ]
    return "C source for TFLite Micro: " + ", ".join(links)


def _deployment_html(comparison, variant: str) -> str:
    """Where the variant runs, from its table row (empty when the comparison had no target)."""
    table = comparison.table
    if "tflm" not in table:
        return ""
    row = table[table["variant"] == variant].iloc[0]
    if row["tflm"]:
        runs = f"runs, arena {row['tflm_arena_bytes']:,.0f} bytes (64-bit host), agreement with LiteRT {row['tflm_agreement']:.2%}"
    else:
        runs = f"does not run: {row['tflm_reason']}"
    fits = ""
    if "fits" in table and comparison.target is not None:
        verdict = "fits" if row["fits"] else "does not fit"
        fits = f"<br><b>{html.escape(comparison.target.name)}:</b> {verdict} ({html.escape(str(row['fits_detail']))})"
    return f"<p><b>TFLite Micro:</b> {html.escape(runs)}{fits}</p>"
