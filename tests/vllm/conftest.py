"""Shared setup for the vLLM plugin suite: small real tokenizers (MiniMax-M2 and MiniMax-M3),
the fixtures of each dialect, M3 prompts, stream helpers.

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
from minimax_parser.conformance import Fixture as Fixture

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

# MiniMax-M3: the namespace token and the think tags at their ids in the real M3 vocabulary (added
# tokens, not special ones); every other M3 tag is ordinary text. The turn tokens are M2's.
M3_MARKERS = {"]<]minimax[>[": 200058, "<mm:think>": 200059, "</mm:think>": 200060}
N = "]<]minimax[>["
# M3's chat template opens every prompt with a system block whose thinking instructions quote the
# reasoning tags (paraphrased here), so a prompt holds <mm:think></mm:think> and </mm:think> long
# before its end. The end depends on chat_template_kwargs["thinking_mode"].
M3_SYSTEM = (
    "]~!b[]~b]system\nYou are a helpful assistant.\n\n<thinking_instructions>\nYou can reason "
    "step by step before you respond. With thinking enabled, wrap your reasoning in "
    "<mm:think></mm:think> tags before the response. With thinking disabled, begin the response "
    "directly after the </mm:think> prefix. With adaptive thinking, decide for each turn whether "
    "to think.\nCurrent thinking mode: {mode}.\n</thinking_instructions>[e~[\n"
)
M3_PROMPT_END = {"enabled": "<mm:think>", "disabled": "</mm:think>", "adaptive": ""}


def m3_prompt(mode: str = "adaptive", user: str = "Hi") -> str:
    """The text of an M3 prompt as the template renders it for ``thinking_mode=mode``."""
    return M3_SYSTEM.format(mode=mode) + f"]~b]user\n{user}[e~[\n]~b]ai\n" + M3_PROMPT_END[mode]


def load_fixtures(dialect: str = "m2") -> list[Fixture]:
    """The package's golden fixtures (shipped as package data) of one dialect."""
    return [f for f in conformance.load_fixtures() if f.dialect == dialect]


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
_M3_TOKENIZER: Any = None

# M3 text the M3 tokenizer is trained on besides the M3 fixtures: the prompts and a tool block.
M3_TRAINING = [
    *(m3_prompt(mode) for mode in M3_PROMPT_END),
    f'<mm:think>plan</mm:think>Answer.{N}<tool_call>\n{N}<invoke name="get_weather">{N}<location>'
    f"Paris{N}</location>{N}<days>3{N}</days>{N}</invoke>\n{N}</tool_call>",
]


def get_tokenizer() -> Any:
    """The MiniMax-M2 test tokenizer."""
    global _TOKENIZER
    if _TOKENIZER is None:
        _TOKENIZER = _build_tokenizer()
    return _TOKENIZER


def get_m3_tokenizer() -> Any:
    """The MiniMax-M3 test tokenizer: the conformance command's (``]<]minimax[>[``,
    ``<mm:think>``, ``</mm:think>`` as non-special added tokens at 200058-200060, the turn tokens
    special), trained on the M3 fixtures and :data:`M3_TRAINING`."""
    global _M3_TOKENIZER
    if _M3_TOKENIZER is None:
        texts = [f.input for f in load_fixtures("m3")] + M3_TRAINING
        _M3_TOKENIZER = conformance.build_tokenizer(texts, "m3")
        added = _M3_TOKENIZER.get_added_vocab()
        assert {t: added.get(t) for t in M3_MARKERS} == M3_MARKERS
        assert not any(t in added for t in ("<think>", "</think>", "<minimax:tool_call>"))
    return _M3_TOKENIZER


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    return get_tokenizer()


@pytest.fixture(scope="session")
def m3_tokenizer() -> Any:
    return get_m3_tokenizer()


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
