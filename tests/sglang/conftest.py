"""Shared setup for the SGLang integration suite: small real tokenizers (MiniMax-M2 and M3, the
conformance command's), the fixtures, token streams, and SGLang's own parsers built as its
chat-completions serving code builds them.

The tests drive SGLang's own code. They are skipped only when MINIMAX_PARSER_SKIP_SGLANG=1;
otherwise a missing SGLang is an error.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import minimax_parser.conformance as conformance
from minimax_parser.conformance import Fixture as Fixture

SKIP = os.environ.get("MINIMAX_PARSER_SKIP_SGLANG") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not SKIP:
        return
    here = Path(__file__).parent
    mark = pytest.mark.skip(reason="SGLang tests skipped: MINIMAX_PARSER_SKIP_SGLANG=1")
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(mark)


def load_fixtures(dialect: str) -> list[Fixture]:
    """The package's golden fixtures of one dialect."""
    return [f for f in conformance.load_fixtures() if f.dialect == dialect]


_TOKENIZERS: dict[str, Any] = {}


def get_tokenizer(dialect: str) -> Any:
    """The conformance command's tokenizer of ``dialect`` (markers at their real ids), trained
    on that dialect's fixtures."""
    if dialect not in _TOKENIZERS:
        texts = [f.input for f in load_fixtures(dialect)]
        _TOKENIZERS[dialect] = conformance.build_tokenizer(texts, dialect)
    return _TOKENIZERS[dialect]


def token_deltas(tokenizer: Any, text: str, per_delta: int) -> Iterator[str]:
    """The text increments SGLang's detokenizer sends: ``per_delta`` tokens at a time, an
    incomplete UTF-8 character held back until it completes."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    held: list[int] = []
    for i, token in enumerate(ids):
        held.append(token)
        if len(held) < per_delta and i + 1 < len(ids):
            continue
        piece = tokenizer.decode(held, skip_special_tokens=False)
        if piece.endswith("\ufffd") and i + 1 < len(ids):
            continue
        yield piece
        held = []
    assert not held


def sglang_tools(fixture_tools: list[dict[str, Any]] | None) -> list[Any]:
    """The fixture's tools as SGLang's ``Tool`` objects (none: an empty list)."""
    tool = importlib.import_module("sglang.srt.entrypoints.openai.protocol").Tool
    return [
        tool.model_validate(t if "function" in t else {"type": "function", "function": t})
        for t in fixture_tools or []
    ]


def chat_request(**kwargs: Any) -> Any:
    """An SGLang ``ChatCompletionRequest``."""
    protocol = importlib.import_module("sglang.srt.entrypoints.openai.protocol")
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    body.update(kwargs)
    return protocol.ChatCompletionRequest(**body)
