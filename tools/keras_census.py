"""How much of Keras 3's public API glassnet has, name by name, read from the installed Keras.

    python tools/keras_census.py                 # table of counts by module, then the listing
    python tools/keras_census.py --summary       # the table only
    python tools/keras_census.py --module keras.layers --json

For every public name `keras.a.b.X` (walking `keras` and its public submodules, never
`keras.src`) the census looks up `glassnet.a.b.X` and sorts the name into one of:

- present:  glassnet has the same path, and for a callable the same parameters and defaults;
- differs:  glassnet has the path, but a parameter Keras has is absent, a default differs,
            a parameter glassnet requires is optional or absent in Keras, or the common
            parameters come in another order;
- missing:  glassnet has no such path;
- left out: no such path, on purpose: `docs/keras_api.md` lists it (or a glob over it) with
            the reason.

Parameters are read with `inspect.signature`. Keras' side is the class's own `__init__`
(Keras lists every parameter of a class there; its `**kwargs` are the base Layer's name,
dtype, trainable). glassnet's side is its `__init__` and, while that takes `**kwargs`, the
next `__init__` up its MRO (the `**kwargs` are assumed to be passed on). A parameter listed under
"Parameters left out" in `docs/keras_api.md` (LoRA, quantization, XLA) is not counted as
absent. `keras.applications` is counted apart from the totals.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib
import inspect
import json
import math
import os
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEFT_OUT_FILE = ROOT / "docs" / "keras_api.md"
STATUSES = ("present", "differs", "missing", "left out")
APART = "keras.applications"         # pretrained ImageNet models: counted apart
SKIPPED_MODULES = ("keras.src",)     # the implementation, not the public API


@dataclass
class Entry:
    """One public Keras name and what glassnet has at the same path."""

    name: str                                   # "keras.layers.Dense"
    status: str                                 # one of STATUSES
    differences: list[str] = field(default_factory=list)
    reason: str = ""                            # why it is left out (from docs/keras_api.md)


# --- the list of names left out on purpose ------------------------------------------------

def read_left_out(path: Path = LEFT_OUT_FILE) -> tuple[dict[str, str], dict[str, str]]:
    """(name patterns, parameter names) -> reason, from the two tables of docs/keras_api.md.

    A table row is `| `pattern` | reason |`; the table under a heading that starts with
    "Left out" holds names (fnmatch globs over full paths), the one under "Parameters left
    out" parameter names.
    """
    names: dict[str, str] = {}
    parameters: dict[str, str] = {}
    target = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip().lower()
            target = (parameters if heading.startswith("parameters left out")
                      else names if heading.startswith("left out") else None)
            continue
        if target is None or not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue                             # the header row and the --- row
        for pattern in cells[0].replace("`", "").split(","):
            if pattern.strip():
                target[pattern.strip()] = cells[1]
    return names, parameters


# --- walking Keras ------------------------------------------------------------------------

def public_names(keras) -> dict[str, list[tuple[str, object]]]:
    """Module path -> [(name, object)] for every public module under `keras`."""
    found: dict[str, list[tuple[str, object]]] = {}
    pending = [("keras", keras)]
    while pending:
        path, module = pending.pop()
        if path in found or path.startswith(SKIPPED_MODULES):
            continue
        found[path] = []
        for name in sorted(dir(module)):
            if name.startswith("_"):
                continue
            value = getattr(module, name)
            if isinstance(value, types.ModuleType):
                if value.__name__.startswith("keras.") and not value.__name__.startswith(
                        SKIPPED_MODULES):
                    pending.append((f"{path}.{name}", value))
            else:
                found[path].append((name, value))
    return dict(sorted(found.items()))


def glassnet_object(path: str):
    """The object at glassnet's equivalent of a Keras path, or None."""
    parts = path.split(".")[1:]
    target = importlib.import_module("glassnet")
    for index, part in enumerate(parts):
        try:
            target = getattr(target, part)
            continue
        except AttributeError:
            pass
        except ImportError:   # a lazy subpackage whose optional extra is not installed
            return None
        try:          # a submodule not imported by its package
            target = importlib.import_module(".".join(["glassnet", *parts[:index + 1]]))
        except Exception:  # noqa: BLE001  (any failure to import means "not there")
            return None
    return target


# --- comparing parameters -----------------------------------------------------------------

def parameters(obj, follow_kwargs: bool = True) \
        -> tuple[dict[str, inspect.Parameter], bool] | None:
    """The named parameters a callable accepts, and whether it still takes **kwargs beyond
    them; None when Python cannot tell. With `follow_kwargs`, a class whose `__init__` takes
    **kwargs also accepts the parameters of the next `__init__` up its MRO."""
    chain = [klass.__init__ for klass in type.mro(obj) if "__init__" in vars(klass)] \
        if inspect.isclass(obj) else [obj]
    named: dict[str, inspect.Parameter] = {}
    open_ended = False
    for function in chain:
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            return (named, True) if named else None
        open_ended = False
        for parameter in signature.parameters.values():
            if parameter.kind is parameter.VAR_KEYWORD:
                open_ended = True
            elif parameter.kind is not parameter.VAR_POSITIONAL and parameter.name != "self":
                named.setdefault(parameter.name, parameter)
        if not (open_ended and follow_kwargs and inspect.isclass(obj)):
            break
    return named, open_ended


def same_default(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same_default(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001  (objects that refuse comparison: compare their text)
        return repr(a) == repr(b)


def compare(keras_obj, glassnet_obj, left_out_parameters) -> list[str]:
    """What a Keras call could do that glassnet's would not accept, or reads differently."""
    if not callable(keras_obj):
        return []
    # Keras' own signature lists what its users pass (its **kwargs go to the base Layer:
    # name, dtype, trainable); glassnet's accepted parameters may come from a base class
    theirs, ours = parameters(keras_obj, follow_kwargs=False), parameters(glassnet_obj)
    if theirs is None or ours is None:
        return []
    (theirs, _), (ours, open_ended) = theirs, ours
    empty = inspect.Parameter.empty
    problems = []
    for name, parameter in theirs.items():
        if name in left_out_parameters:
            continue
        if name not in ours:
            via = " (glassnet takes **kwargs)" if open_ended else ""
            problems.append(f"no parameter {name}{via}")
        elif not same_default(parameter.default, ours[name].default):
            keras_default = "required" if parameter.default is empty else \
                repr(parameter.default)
            our_default = "required" if ours[name].default is empty else \
                repr(ours[name].default)
            problems.append(f"{name}: default {our_default}, Keras {keras_default}")
    for name, parameter in ours.items():
        if name not in theirs and parameter.default is empty \
                and parameter.kind is not parameter.KEYWORD_ONLY:
            problems.append(f"glassnet requires {name}, which Keras does not have")
    # the order matters to a positional call: compare the parameters both take positionally
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    common_keras = [n for n in theirs if n in ours and theirs[n].kind in positional
                    and ours[n].kind in positional]
    common_ours = [n for n in ours if n in common_keras]
    for index, (mine, keras_name) in enumerate(zip(common_ours, common_keras)):
        if mine != keras_name:
            problems.append(f"order: positional parameter {index + 1} of those both take is "
                            f"{mine}, in Keras {keras_name}")
            break
    return problems


# --- the census ---------------------------------------------------------------------------

def census(keras=None, left_out_file: Path = LEFT_OUT_FILE) -> dict[str, list[Entry]]:
    """Module path -> one Entry per public Keras name in it."""
    if keras is None:
        keras = import_keras()
    left_out_names, left_out_parameters = read_left_out(left_out_file)
    result: dict[str, list[Entry]] = {}
    for module, members in public_names(keras).items():
        entries = []
        for name, keras_obj in members:
            path = f"{module}.{name}"
            ours = glassnet_object(path)
            reason = next((why for pattern, why in left_out_names.items()
                           if fnmatch.fnmatchcase(path, pattern)), "")
            if ours is None:
                entries.append(Entry(path, "left out" if reason else "missing", reason=reason))
                continue
            problems = compare(keras_obj, ours, left_out_parameters)
            entries.append(Entry(path, "differs" if problems else "present", problems))
        if entries:
            result[module] = entries
    return result


def stale_left_out(result: dict[str, list[Entry]], left_out_file: Path = LEFT_OUT_FILE):
    """Patterns in docs/keras_api.md that match no Keras name that glassnet lacks."""
    patterns, _ = read_left_out(left_out_file)
    used = {pattern for entries in result.values() for entry in entries
            for pattern in patterns
            if entry.status == "left out" and fnmatch.fnmatchcase(entry.name, pattern)}
    return sorted(set(patterns) - used)


def counts(entries: list[Entry]) -> dict[str, int]:
    return {status: sum(entry.status == status for entry in entries) for status in STATUSES}


def summary(result: dict[str, list[Entry]]) -> dict[str, dict[str, int]]:
    """Counts per module; "total" over all but keras.applications, which is one row apart."""
    rows = {module: counts(entries) for module, entries in result.items()
            if not module.startswith(APART)}
    rows["total"] = counts([e for m, es in result.items() if not m.startswith(APART)
                            for e in es])
    rows[f"{APART} (apart)"] = counts([e for m, es in result.items() if m.startswith(APART)
                                       for e in es])
    return rows


def import_keras():
    """Keras 3 on its torch backend (the backend is set before the first import)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    if keras.backend.backend() != "torch":
        print(f"warning: keras runs on {keras.backend.backend()!r}, not torch",
              file=sys.stderr)
    return keras


def format_table(rows: dict[str, dict[str, int]]) -> str:
    width = max(len(module) for module in rows) + 2
    lines = [f"{'module':<{width}}{'names':>6}" + "".join(f"{s:>10}" for s in STATUSES)]
    for module, row in rows.items():
        if module == "total" or module.endswith("(apart)"):
            lines.append("-" * len(lines[0]))
        lines.append(f"{module:<{width}}{sum(row.values()):>6}"
                     + "".join(f"{row[s]:>10}" for s in STATUSES))
    return "\n".join(lines)


def format_listing(result: dict[str, list[Entry]]) -> str:
    lines = []
    for module, entries in result.items():
        missing = [e.name.rpartition(".")[2] for e in entries if e.status == "missing"]
        differs = [e for e in entries if e.status == "differs"]
        if not missing and not differs:
            continue
        lines.append(f"\n## {module}")
        if missing:
            lines.append("missing: " + ", ".join(missing))
        for entry in differs:
            lines.append(f"differs: {entry.name.rpartition('.')[2]}: "
                         + "; ".join(entry.differences))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the census as JSON")
    parser.add_argument("--summary", action="store_true", help="the table of counts only")
    parser.add_argument("--module", default="keras",
                        help="only modules under this path (e.g. keras.layers)")
    args = parser.parse_args(argv)
    keras = import_keras()
    result = {module: entries for module, entries in census(keras).items()
              if module == args.module or module.startswith(args.module + ".")}
    if not result:
        parser.error(f"--module {args.module!r} matches no public Keras module")
    import glassnet

    if args.json:
        print(json.dumps({
            "keras_version": keras.__version__,
            "glassnet_version": glassnet.__version__,
            "counts": summary(result),
            "stale_left_out": stale_left_out(result) if args.module == "keras" else [],
            "names": {module: [vars(entry) for entry in entries]
                      for module, entries in result.items()},
        }, indent=1))
        return 0
    print(f"Keras {keras.__version__} public API against glassnet {glassnet.__version__}\n")
    print(format_table(summary(result)))
    if not args.summary:
        print(format_listing(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
