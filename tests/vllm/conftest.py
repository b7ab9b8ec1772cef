"""Shared setup for the vLLM plugin suite: a small real tokenizer, the fixtures, stream helpers.

The tests drive vLLM's own code. They are skipped only when MINIMAX_PARSER_SKIP_VLLM=1; otherwise
a missing vLLM is an error.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import minimax_parser.conformance as conformance

# The package's fixture loader (fixtures shipped as package data), re-exported for the suite.
from minimax_parser.conformance import Fixture as Fixture
from minimax_parser.conformance import load_fixtures as load_fixtures

SKIP = os.environ.get("MINIMAX_PARSER_SKIP_VLLM") == "1"


def _vllm_version() -> str:
    try:
        return importlib.metadata.version("vllm")
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


VLLM_VERSION = _vllm_version()
# vLLM 0.11.x: no Parser/parse_delta; the serving code calls the parsers directly.
LEGACY = VLLM_VERSION.startswith("0.11.")
ONLY_PARSER_API = pytest.mark.skipif(
    LEGACY, reason=f"vLLM 0.32 Parser/ParserManager API; installed vLLM is {VLLM_VERSION}"
)

# The marker tokens at their ids in the real MiniMax-M2 vocabulary, plus the chat template's turn
# tokens (their ids here are placeholders: only their presence matters).
SPECIAL = {
    "]~!b[": 200034,
    "]~b]": 200019,
    "[e~[": 200020,
    "<think>": 200050,
    "</think>": 200051,
    "<minimax:tool_call>": 200052,
    "</minimax:tool_call>": 200053,
}
PROMPT_IN_REASONING = "]~!b[]~b]system\nYou are helpful.[e~[\n]~b]user\nHi[e~[\n]~b]ai\n<think>\n"
PROMPT_AFTER_REASONING = "]~!b[]~b]user\nHi[e~[\n]~b]ai\n<think>\n</think>\n\n"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not SKIP:
        return
    here = Path(__file__).parent
    mark = pytest.mark.skip(reason="vLLM tests skipped: MINIMAX_PARSER_SKIP_VLLM=1")
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(mark)


def _build_tokenizer() -> Any:
    # The same tokenizer the conformance command builds (markers at their real ids).
    assert conformance._SPECIAL == SPECIAL
    return conformance.build_tokenizer([f.input for f in load_fixtures()])


_TOKENIZER: Any = None


def get_tokenizer() -> Any:
    global _TOKENIZER
    if _TOKENIZER is None:
        _TOKENIZER = _build_tokenizer()
    return _TOKENIZER


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    return get_tokenizer()


def token_deltas(tokenizer: Any, text: str, per_delta: int) -> Iterator[tuple[str, list[int]]]:
    """(delta_text, delta_token_ids) as vLLM's detokenizer yields them: ``per_delta`` tokens at a
    time, holding back an incomplete UTF-8 character until it completes."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    held: list[int] = []
    step: list[int] = []
    for i, token in enumerate(ids):
        held.append(token)
        step.append(token)
        if len(step) < per_delta and i + 1 < len(ids):
            continue
        piece = tokenizer.decode(held, skip_special_tokens=False)
        if piece.endswith("\ufffd") and i + 1 < len(ids):
            continue
        yield piece, step
        held, step = [], []
    assert not held


def openai_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if tools is None:
        return None
    return [t if "function" in t else {"type": "function", "function": t} for t in tools]


UNRELATED_TOOL = {"type": "function", "function": {"name": "zz_unrelated", "parameters": {}}}


def make_request(fixture_tools: list[dict[str, Any]] | None, **kwargs: Any) -> Any:
    protocol = importlib.import_module(
        "vllm.entrypoints.openai.protocol"
        if LEGACY
        else "vllm.entrypoints.openai.chat_completion.protocol"
    )
    ChatCompletionRequest = protocol.ChatCompletionRequest

    # vLLM forces tool_choice="none" on a request without tools; a fixture without tools means
    # "no schema for any call", which an unrelated tool gives too.
    tools = openai_tools(fixture_tools) or [UNRELATED_TOOL]
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    body["tools"] = tools
    body["tool_choice"] = "auto"
    body.update(kwargs)
    return ChatCompletionRequest(**body)


def merge_deltas(deltas: list[Any]) -> dict[str, Any]:
    """Merges vLLM DeltaMessages as an OpenAI client would, checking the streaming contract."""
    reasoning, content = "", ""
    calls: dict[int, dict[str, Any]] = {}
    for d in deltas:
        if d is None:
            continue
        reasoning += d.reasoning or ""
        content += d.content or ""
        for tc in d.tool_calls or []:
            if tc.index not in calls:
                assert tc.id, "the first delta of a call carries its id"
                assert tc.function is not None and tc.function.name
                calls[tc.index] = {"id": tc.id, "name": tc.function.name, "arguments": ""}
            else:
                assert tc.id is None or tc.id == calls[tc.index]["id"]
            if tc.function is not None and tc.function.arguments:
                calls[tc.index]["arguments"] += tc.function.arguments
    return {
        "reasoning": reasoning or None,
        "content": content or None,
        "tool_calls": [calls[i] for i in sorted(calls)],
    }
