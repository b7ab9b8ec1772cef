"""vLLM plugin: the ``minimax_rs`` tool-call parser and reasoning parsers.

Registered through the ``vllm.general_plugins`` entry point (``register``), so after
``pip install 'minimax-parser[vllm]'`` a server only needs::

    vllm serve MiniMaxAI/MiniMax-M2.1 --trust-remote-code --enable-auto-tool-choice \\
        --tool-call-parser minimax_rs --reasoning-parser minimax_rs

The same flags serve MiniMax-M3: the tokenizer's vocabulary selects the dialect (``]<]minimax[>[``
→ M3), and M3's ``thinking_mode`` chat-template kwarg and the end of the prompt set where a
response starts. ``--reasoning-parser minimax_rs_append_think`` keeps think blocks inline in
``content`` (SPEC's ``reasoning="inline"``). Pointing ``--tool-parser-plugin`` /
``--reasoning-parser-plugin`` at this package (by name on vLLM 0.32, or at this file's path, which
vLLM 0.11 requires) also registers the parsers.

Layout (see docs/vllm.md): ``common`` holds everything that does not need vLLM; ``v0_32`` (the
unified ``Parser`` API) and ``v0_11`` (the legacy serving path) each import their vLLM generation
at the top. ``import minimax_parser.vllm_plugin`` imports neither: :func:`register` picks the
generation, and the parser classes are attributes of this package that load it on first access.
This file uses absolute imports only, so that it also works when vLLM loads it by file path.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any

from minimax_parser.vllm_plugin.common import (
    APPEND_THINK_PARSER_NAME,
    REASONING_PARSER_NAME,
    TOOL_PARSER_NAME,
    MissingMarkersError,
)

__all__ = [
    "APPEND_THINK_PARSER_NAME",
    "REASONING_PARSER_NAME",
    "TOOL_PARSER_NAME",
    "MissingMarkersError",
    "generation",
    "register",
]

# Class names, looked up in the generation module of the installed vLLM.
_CLASSES = (
    "MinimaxRsToolParser",
    "MinimaxRsReasoningParser",
    "MinimaxRsAppendThinkReasoningParser",
)


def generation() -> ModuleType:
    """The plugin module for the installed vLLM (imports vLLM).

    vLLM 0.32 has the unified ``vllm.parser`` API and ``vllm.tool_parsers``; 0.11 keeps its tool
    parsers under the OpenAI entrypoint and calls the parsers from its serving code.
    """
    if importlib.util.find_spec("vllm.parser") is None:
        return importlib.import_module("minimax_parser.vllm_plugin.v0_11")
    return importlib.import_module("minimax_parser.vllm_plugin.v0_32")


def register() -> None:
    """Registers the parsers with vLLM (lazily: vLLM imports the classes when it needs them) and
    installs the generation's serving hook. Safe to call any number of times."""
    generation().register()


def __getattr__(name: str) -> Any:
    if name in _CLASSES:
        return getattr(generation(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Loaded through --tool-parser-plugin / --reasoning-parser-plugin: vLLM is already imported.
if "vllm" in sys.modules:
    register()
