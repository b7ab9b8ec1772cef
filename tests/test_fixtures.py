"""The golden fixtures (shared with the Rust suite) through the Python API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import minimax_parser as mp
from minimax_parser.conformance import FIXTURES_DIR

from conftest import Fixture, as_expected, ids, load_fixtures, stream

FIXTURES = load_fixtures()
REPO = Path(__file__).resolve().parents[1]
# The fixtures' one home in the checkout (make_fixtures.py writes it; the wheel ships it).
CHECKOUT_FIXTURES = REPO / "python" / "minimax_parser" / "fixtures"


def test_fixture_count() -> None:
    assert len(FIXTURES) >= 200


def test_fixtures_ship_with_the_package() -> None:
    assert FIXTURES_DIR.parent == Path(mp.__file__).resolve().parent
    for f in FIXTURES:
        data = json.loads((FIXTURES_DIR / f"{f.name}.json").read_text("utf-8"))
        assert data["name"] == f.name, "a fixture's name is <group>/<file name>"


def test_installed_fixtures_are_the_checkouts() -> None:
    """The suite tests the installed package and its fixtures: they must be the checkout's (after
    ``make_fixtures.py``, reinstall the package)."""
    installed = {p.relative_to(FIXTURES_DIR): p.read_bytes() for p in FIXTURES_DIR.rglob("*.json")}
    here = {
        p.relative_to(CHECKOUT_FIXTURES): p.read_bytes() for p in CHECKOUT_FIXTURES.rglob("*.json")
    }
    assert sorted(installed) == sorted(here), "installed fixtures differ: reinstall the package"
    stale = [str(k) for k in here if installed[k] != here[k]]
    assert not stale, f"installed fixtures differ from the checkout (reinstall): {stale[:5]}"


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
