"""SGLang integration: the ``minimax-rs`` tool-call parser and reasoning parsers.

Registered through SGLang's plugin entry point group ``sglang.srt.plugins`` (:func:`register`),
so after ``pip install 'minimax-parser[sglang]'`` a server only needs::

    sglang serve --model-path MiniMaxAI/MiniMax-M2.1 \\
        --tool-call-parser minimax-rs --reasoning-parser minimax-rs

The same flags serve MiniMax-M3: the tokenizer's vocabulary selects the dialect. Code that
launches SGLang from Python calls :func:`register` before SGLang parses its arguments.

``import minimax_parser.sglang`` does not import SGLang; :func:`register` does (``v0_5``, written
for SGLang 0.5.23, imports it at the top). ``common`` holds everything that does not need SGLang.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re

from minimax_parser.sglang.common import (
    APPEND_THINK_PARSER_NAME,
    REASONING_PARSER_NAME,
    TOOL_PARSER_NAME,
)

__all__ = [
    "APPEND_THINK_PARSER_NAME",
    "REASONING_PARSER_NAME",
    "SUPPORTED",
    "TOOL_PARSER_NAME",
    "UnsupportedSGLangError",
    "register",
]

# The SGLang releases this integration is written for: 0.5.23 and later 0.5.x (tested: 0.5.23).
SUPPORTED = ">=0.5.23,<0.6"
_LOWEST = (0, 5, 23)
_BELOW = (0, 6)


class UnsupportedSGLangError(RuntimeError):
    """The installed SGLang is not one this integration supports (or SGLang is missing)."""


def _check_version() -> str:
    try:
        version = importlib.metadata.version("sglang")
    except importlib.metadata.PackageNotFoundError:
        raise UnsupportedSGLangError(
            f"minimax_parser.sglang needs SGLang {SUPPORTED}, which is not installed "
            "(pip install 'minimax-parser[sglang]')"
        ) from None
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    release = tuple(int(x) for x in match.groups()) if match else ()
    if not (_LOWEST <= release and release[:2] < _BELOW):
        raise UnsupportedSGLangError(
            f"minimax_parser.sglang supports SGLang {SUPPORTED} (tested with 0.5.23); the "
            f"installed SGLang is {version}"
        )
    return version


def register() -> None:
    """Adds the tool-call parser ``minimax-rs`` and the reasoning parsers ``minimax-rs`` and
    ``minimax-rs-append-think`` to SGLang's registries (imports SGLang). Safe to call any number
    of times; raises :class:`UnsupportedSGLangError` for an SGLang outside :data:`SUPPORTED`."""
    _check_version()
    importlib.import_module("minimax_parser.sglang.v0_5").register()
