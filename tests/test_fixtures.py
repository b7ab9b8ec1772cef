"""The golden fixtures (shared with the Rust suite) through the Python API."""

from __future__ import annotations

import pytest

import minimax_parser as mp

from conftest import Fixture, as_expected, ids, load_fixtures, stream

FIXTURES = load_fixtures()


def test_fixture_count() -> None:
    assert len(FIXTURES) >= 200


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.name for f in FIXTURES])
def test_one_shot(fx: Fixture) -> None:
    msg = mp.parse(fx.input, tools=fx.tools, id_generator=ids, **fx.options)
    assert as_expected(msg) == fx.expected


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.name for f in FIXTURES])
def test_every_split_point(fx: Fixture) -> None:
    for i in range(1, len(fx.input)):
        got = stream([fx.input[:i], fx.input[i:]], tools=fx.tools, **fx.options)
        assert got == fx.expected, f"split at {i}"


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.name for f in FIXTURES])
def test_one_char_at_a_time(fx: Fixture) -> None:
    assert stream(list(fx.input), tools=fx.tools, **fx.options) == fx.expected
