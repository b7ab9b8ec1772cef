"""The vLLM plugin package without vLLM: importing it never imports vLLM, and no module of the
package reads the call stack (the parsers of one response are linked by the Parser or serving
hook that owns them, not by inspecting frames). The plugin itself is tested in tests/vllm,
against the pinned vLLM releases."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

import minimax_parser.vllm_plugin

SOURCE = Path(__file__).resolve().parent.parent / "python" / "minimax_parser" / "vllm_plugin"


def test_import_without_vllm() -> None:
    code = (
        "import sys, minimax_parser, minimax_parser.vllm_plugin as p\n"
        "import minimax_parser.vllm_plugin.common\n"
        "assert not any(m == 'vllm' or m.startswith('vllm.') for m in sys.modules)\n"
        "assert p.TOOL_PARSER_NAME == 'minimax_rs' and callable(p.register)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_classes_need_vllm() -> None:
    try:
        importlib.metadata.version("vllm")
    except importlib.metadata.PackageNotFoundError:
        pass
    else:
        pytest.skip("vLLM is installed here; tests/vllm covers the classes")
    with pytest.raises(ImportError, match="vllm"):
        minimax_parser.vllm_plugin.register()
    with pytest.raises(ImportError, match="vllm"):
        _ = minimax_parser.vllm_plugin.MinimaxRsToolParser


def test_one_module_per_generation_and_no_frame_inspection() -> None:
    names = sorted(p.name for p in SOURCE.glob("*.py"))
    assert names == ["__init__.py", "common.py", "v0_11.py", "v0_32.py"]
    for path in SOURCE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"_getframe|f_locals|f_back|inspect\.stack|currentframe", text), path
        imports_vllm = re.search(r"^(import vllm|from vllm)", text, re.M) is not None
        assert imports_vllm == path.name.startswith("v0_"), path
