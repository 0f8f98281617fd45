"""Recipes an agent receives from the DM: kept per component, rewritten only when they changed,
never outside their folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from roboconf.agent.recipes import UnsafeRecipePath, store_recipes
from roboconf.messaging.messages import RecipeFiles, recipe_digest


def recipes(component: str, files: dict[str, bytes]) -> RecipeFiles:
    return RecipeFiles(component=component, files=files, digest=recipe_digest(files))


def test_files_are_kept_under_their_component_and_replaced_whole(tmp_path: Path) -> None:
    first = recipes("Tomcat", {"scripts/start.sh": b"#!/bin/sh\n", "files/a.txt": b"a"})
    assert store_recipes(tmp_path, first)
    assert (tmp_path / "Tomcat" / "scripts" / "start.sh").read_bytes() == b"#!/bin/sh\n"
    assert not store_recipes(tmp_path, first)  # same digest: nothing written

    second = recipes("Tomcat", {"scripts/start.sh": b"#!/bin/bash\n"})
    assert store_recipes(tmp_path, second)
    assert not (tmp_path / "Tomcat" / "files").exists()  # what the new recipes lack is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Tomcat"]  # nothing left aside


@pytest.mark.parametrize(
    ("component", "path"),
    [
        ("Tomcat", "../escape.sh"),
        ("Tomcat", "/etc/passwd"),
        ("Tomcat", "scripts/../../escape.sh"),
        ("Tomcat", "scripts\\..\\..\\escape.sh"),
        ("..", "scripts/start.sh"),
        ("a/b", "scripts/start.sh"),
        ("", "scripts/start.sh"),
    ],
)
def test_paths_that_leave_the_folder_are_refused_whole(
    tmp_path: Path, component: str, path: str
) -> None:
    root = tmp_path / "recipes"
    with pytest.raises(UnsafeRecipePath):
        store_recipes(root, recipes(component, {"ok.sh": b"", path: b"x"}))
    assert not (tmp_path / "escape.sh").exists()
    assert not root.exists() or [p.name for p in root.iterdir()] == []
