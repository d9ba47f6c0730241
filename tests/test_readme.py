"""The README's promises: its two commands come first, and its custom-layer guide runs."""

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_readme_opens_with_the_two_commands():
    commands = re.findall(r"```\n(.*?)\n```", README, flags=re.S)
    assert "glassnet demo" in commands[0] and "pip install -e ." in commands[0]
    assert "pytest" in commands[1] and "pip install" in commands[1]
    assert README.index(commands[1]) < README.index("## What it is")


def test_custom_layer_guide_runs_and_passes(capsys):
    guide = next(block for block in BLOCKS if "class Scale" in block)
    namespace: dict = {}
    exec(compile(guide, "README.md", "exec"), namespace)
    assert namespace["report"].passed
    assert "passed" in capsys.readouterr().out


def test_quick_start_names_exist():
    import glassnet as gn

    quick = next(block for block in BLOCKS if "gn.Sequential" in block)
    for name in re.findall(r"gn\.(\w+(?:\.\w+)*)", quick):
        obj = gn
        for part in name.split("."):
            obj = getattr(obj, part)


def test_call_style_layer_guide_runs_and_passes():
    guide = next(block for block in BLOCKS if "class ScaledTanh" in block)
    exec(compile(guide, "README.md", "exec"), {})      # asserts its own gradient check
