"""The release metadata stays consistent: both manifests name the same license, version and
project; the license texts ship; the release workflow builds every platform the README promises
and publishes only from a tag; and no committed text points outside the repository.

Tests that need a file the sdist does not carry (the workflow) skip where it is missing; the ones
that parse TOML or YAML skip where no parser is installed (tomllib is Python 3.11+; PyYAML is not
a dependency of this project).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
LICENSE = "MIT OR Apache-2.0"
URL = "https://github.com/minimax-parser/minimax-parser"


def _toml(name: str) -> dict[str, Any]:
    tomllib = pytest.importorskip("tomllib")
    data: dict[str, Any] = tomllib.loads((ROOT / name).read_text(encoding="utf-8"))
    return data


def test_manifests_agree() -> None:
    cargo = _toml("Cargo.toml")["package"]
    project = _toml("pyproject.toml")["project"]
    assert cargo["license"] == project["license"] == LICENSE
    assert cargo["version"] == project["version"]
    assert cargo["repository"] == project["urls"]["Source"] == URL
    assert set(project["license-files"]) == {"LICENSE-MIT", "LICENSE-APACHE"}
    for name in project["license-files"]:
        assert f"/{name}" in cargo["include"], f"{name} is not in the crate"


def test_license_texts() -> None:
    mit = (ROOT / "LICENSE-MIT").read_text(encoding="utf-8")
    apache = (ROOT / "LICENSE-APACHE").read_text(encoding="utf-8")
    assert "Copyright (c) The minimax-parser developers" in mit
    assert "Permission is hereby granted, free of charge" in mit
    assert "Apache License" in apache and "Version 2.0, January 2004" in apache
    assert "END OF TERMS AND CONDITIONS" in apache


def test_python_versions_and_abi3_agree() -> None:
    project = _toml("pyproject.toml")["project"]
    pyo3 = _toml("Cargo.toml")["dependencies"]["pyo3"]
    assert project["requires-python"] == ">=3.10"
    assert "abi3-py310" in pyo3["features"]
    classifiers = set(project["classifiers"])
    for minor in range(10, 14):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    for os_name in ("POSIX :: Linux", "MacOS", "Microsoft :: Windows"):
        assert f"Operating System :: {os_name}" in classifiers


def _workflow() -> dict[Any, Any]:
    path = ROOT / ".github" / "workflows" / "release.yml"
    if not path.exists():
        pytest.skip("no .github/workflows/release.yml here (an sdist does not carry it)")
    import yaml

    data: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def _maturin_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith("PyO3/maturin-action@")]


def test_release_workflow_builds_every_platform() -> None:
    wf = _workflow()
    on: dict[str, Any] = wf["on"] if "on" in wf else wf[True]  # YAML 1.1 reads `on` as true
    assert on["push"]["tags"] == ["v*"]
    jobs = wf["jobs"]

    linux = jobs["linux"]
    assert set(linux["strategy"]["matrix"]["target"]) == {"x86_64", "aarch64"}
    (build,) = _maturin_steps(linux)
    assert build["with"]["manylinux"] == "auto"

    macos = jobs["macos"]["strategy"]["matrix"]["platform"]
    assert {p["target"] for p in macos} == {"x86_64", "aarch64"}
    assert set(jobs["windows"]["strategy"]["matrix"]["target"]) == {"x64"}

    for name in ("linux", "macos", "windows"):
        (build,) = _maturin_steps(jobs[name])
        assert "--release" in build["with"]["args"], name
        # abi3 comes from pyo3's abi3-py310 feature: no interpreter list, one wheel per platform.
        assert "-i " not in build["with"]["args"] and "--interpreter" not in build["with"]["args"]
    (sdist,) = _maturin_steps(jobs["sdist"])
    assert sdist["with"]["command"] == "sdist"


def test_release_workflow_publishes_only_from_a_tag() -> None:
    wf = _workflow()
    publish = wf["jobs"]["publish"]
    assert set(publish["needs"]) == {"linux", "macos", "windows", "sdist"}
    assert "startsWith(github.ref, 'refs/tags/v')" in publish["if"]
    assert publish["permissions"] == {"id-token": "write"}  # trusted publishing, no stored token
    uses = [str(step.get("uses", "")) for step in publish["steps"]]
    assert any(u.startswith("pypa/gh-action-pypi-publish@") for u in uses)
    assert wf["permissions"] == {"contents": "read"}


#: Places a clone holds that are not the project's text.
_SKIP_DIRS = {"target", "corpus", "artifacts", "node_modules", "__pycache__", "dist", "build"}
_TEXT = {".md", ".py", ".pyi", ".rs", ".toml", ".sh", ".yml", ".yaml", ".txt", ".json", ".cfg"}
#: Paths of the machine this project was first written on: nothing committed may depend on them.
# (Spelled in pieces, so this file does not itself contain what it looks for.)
_OUTSIDE = re.compile(
    "|".join([r"\.\./" + "shared" + r"\b", "/" + "work/", "/" + "root/", "SPEC" + r"\.md"])
)


#: Files that may name those paths (none today: this one spells its pattern in pieces).
_EXEMPT: set[str] = set()


def test_nothing_points_outside_the_repository() -> None:
    found = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [
            d for d in dirnames if d == ".github" or (d not in _SKIP_DIRS and not d.startswith("."))
        ]
        for name in filenames:
            path = Path(dirpath) / name
            if path.suffix not in _TEXT or path.relative_to(ROOT).as_posix() in _EXEMPT:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for n, line in enumerate(text.splitlines(), 1):
                if _OUTSIDE.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    listing = "\n".join(found)
    assert not found, f"paths outside the repository (the contract is docs/spec.md):\n{listing}"
