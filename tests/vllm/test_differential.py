"""Differential tests: vLLM 0.32.0's built-in parsers and SGLang 0.5.23's detectors on the golden
fixtures of both dialects (M2 fixtures through ``minimax_m2`` and ``MinimaxM2Detector``, M3
fixtures through ``minimax_m3`` and ``MinimaxM3Detector``; see minimax_parser.conformance).

Where an engine agrees with SPEC (the fixture's expected message), we must agree with it too.
Where it does not, the fixture must say why in its ``engines`` field ("their bug: …" or
"policy: …"), and an engine that starts passing a fixture annotated as failing fails this test
until the annotation goes. Both engines are installed in the vLLM 0.32.0 environment
(scripts/vllm_env.sh); on other vLLM versions these tests skip, naming the version.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

import minimax_parser.conformance as conformance

ENGINES = {"vllm": "vllm-0.32.0", "sglang": "sglang-0.5.23"}
# Each engine must have at least this many fixtures of each dialect it can run (options it has no
# switch for make a fixture not applicable), so neither dialect can silently drop out.
MIN_APPLICABLE = {"m2": 250, "m3": 250}


def _vllm_version() -> str:
    return str(importlib.import_module("vllm").__version__)


@pytest.fixture(scope="module", params=sorted(ENGINES))
def engine_run(request: pytest.FixtureRequest) -> tuple[str, list[conformance.Result]]:
    version = _vllm_version()
    if version != "0.32.0":
        pytest.skip(f"the differential suite runs against vLLM 0.32.0; this is vLLM {version}")
    fixtures = conformance.load_fixtures()
    _, results = conformance.run_engine(request.param, fixtures)
    return ENGINES[request.param], results


def test_ours_pass_everything() -> None:
    _, results = conformance.run_engine("minimax-parser", conformance.load_fixtures())
    assert all(r.passed for r in results), [r.fixture.name for r in results if not r.passed]


def test_engine_agreements_and_annotated_differences(
    engine_run: tuple[str, list[conformance.Result]],
) -> None:
    key, results = engine_run
    ours = {r.fixture.name: r for r in conformance.run_engine(
        "minimax-parser", [r.fixture for r in results])[1]}  # fmt: skip
    unexplained: list[str] = []
    stale: list[str] = []
    applicable = dict.fromkeys(conformance.DIALECTS, 0)
    for r in results:
        if not r.applicable:
            continue
        applicable[r.fixture.dialect] += 1
        note = r.fixture.engines.get(key, "")
        if r.passed:
            # They agree with SPEC, so we must agree with them.
            assert ours[r.fixture.name].one_shot == r.one_shot, r.fixture.name
            assert ours[r.fixture.name].streamed == r.streamed, r.fixture.name
            if note:
                stale.append(f"{r.fixture.name}: passes now, but is annotated {note!r}")
        elif not note.startswith(("their bug", "policy")):
            got: Any = r.error or {"one_shot": r.one_shot, "streamed": r.streamed}
            unexplained.append(f"{r.fixture.name}: got {got}")
    assert all(applicable[d] >= n for d, n in MIN_APPLICABLE.items()), applicable
    assert not unexplained, f"{len(unexplained)} unexplained differences:\n" + "\n".join(
        unexplained[:20]
    )
    assert not stale, "\n".join(stale)
