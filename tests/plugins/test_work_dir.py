"""Work directories: where recipes are copied, and why no instance name escapes the data dir."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from roboconf.plugins import LoggerPlugin, ScriptPlugin, StepLimits
from roboconf.plugins.recipes import SMALL_BYTES, SMALL_ENTRIES, is_small
from roboconf.plugins.workdir import inside, work_dir, work_dir_name
from tests.plugins.helpers import context, read_env_dump, script, write

HOSTILE = [
    pytest.param("/..", id="dot dot"),
    pytest.param("/../../etc", id="climbing out"),
    pytest.param("/vm/../../x", id="climbing out from a child"),
    pytest.param("/", id="an empty name"),
    pytest.param("//", id="a name that is a slash"),
    pytest.param("/.", id="a dot"),
    pytest.param('/vm/it\'s "quoted"', id="quotes"),
    pytest.param("/vm/$(touch pwned); `id`", id="shell syntax"),
    pytest.param("/vm 1/my app", id="spaces"),
    pytest.param("/vm/naïve ☃ 日本", id="unicode"),
    pytest.param("/vm/\udc80\ud800", id="lone surrogates"),
    pytest.param("/vm/" + "é" * 300, id="a very long name"),
    pytest.param("/vm/a\0b\nc\td", id="control characters"),
]


@pytest.mark.parametrize("path", HOSTILE)
def test_a_work_dir_is_one_plain_folder_inside_the_data_dir(tmp_path: Path, path: str) -> None:
    name = work_dir_name(path)
    assert name not in ("", ".", "..")
    assert "/" not in name and "\0" not in name
    assert len(name.encode("utf-8")) <= 200
    folder = work_dir(tmp_path, "script", path)
    assert folder.parent == tmp_path / "script"
    folder.mkdir(parents=True)
    assert folder.resolve().parent == (tmp_path / "script").resolve()


@pytest.mark.parametrize(
    "path, expected",
    [
        pytest.param("/vm 1/my app", "vm_1_my_app", id="spaces and separators become underscores"),
        pytest.param("/vm/naïve", "vm_naïve", id="letters of any script stay"),
        pytest.param("/a.b/c-d", "a_b_c_d", id="dots and dashes become underscores"),
    ],
)
def test_work_dir_names(path: str, expected: str) -> None:
    assert work_dir_name(path) == expected


def test_long_names_stay_distinct() -> None:
    assert work_dir_name("/vm/" + "x" * 300 + "1") != work_dir_name("/vm/" + "x" * 300 + "2")


def test_an_installer_name_cannot_climb_out_either(tmp_path: Path) -> None:
    assert work_dir(tmp_path, "../..", "/vm").parent == tmp_path / "_____"


@pytest.mark.parametrize("path", HOSTILE[:9])
def test_a_hostile_instance_runs_its_recipe_inside_the_data_dir(tmp_path: Path, path: str) -> None:
    script(
        tmp_path / "recipes" / "App", "deploy.sh", 'env -0 > "$PWD/env.dump"\ntouch "$PWD/here"\n'
    )
    name = path.rsplit("/", 1)[1]
    ctx = context(tmp_path, instance_path=path, name=name)
    result = asyncio.run(ScriptPlugin().run("deploy", ctx))
    assert result.ok, result.reason
    data = (tmp_path / "data").resolve()
    written = [p for p in tmp_path.rglob("*") if p.name in ("here", "env.dump")]
    assert written and all(p.resolve().is_relative_to(data) for p in written)
    env = read_env_dump(ctx.work_dir / "scripts" / "env.dump")
    assert (env["ROBOCONF_INSTANCE_PATH"], env["ROBOCONF_INSTANCE_NAME"]) == (path, name)
    assert not list(tmp_path.rglob("pwned"))


@pytest.mark.parametrize(
    "relative, expected",
    [
        pytest.param("files/a.txt", "files/a.txt", id="a path inside"),
        pytest.param("files/../a.txt", "a.txt", id="dot dot that stays inside"),
        pytest.param("../x", None, id="dot dot that climbs out"),
        pytest.param("/etc/passwd", None, id="an absolute path"),
        pytest.param(".", None, id="the root itself"),
        pytest.param("link/x", None, id="a symbolic link leading out"),
    ],
)
def test_inside(tmp_path: Path, relative: str, expected: str | None) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    target = inside(root, relative)
    assert target == (None if expected is None else (root / expected).resolve())


def test_recipes_are_copied_at_deploy_executable_and_removed_after_undeploy(
    tmp_path: Path,
) -> None:
    recipes = tmp_path / "recipes" / "App"
    script(recipes, "deploy.sh", "echo deployed\n")
    script(recipes, "undeploy.sh", "echo bye\n")
    write(recipes / "files" / "app.conf", "x=1\n")
    ctx = context(tmp_path)
    plugin = ScriptPlugin()
    assert asyncio.run(plugin.run("deploy", ctx)).ok
    assert (ctx.files_dir / "app.conf").read_text() == "x=1\n"
    assert (recipes / "scripts" / "deploy.sh").stat().st_mode & 0o100 == 0, "source unchanged"
    assert (ctx.work_dir / "scripts" / "deploy.sh").stat().st_mode & 0o100
    assert asyncio.run(plugin.run("undeploy", ctx)).ok
    assert not ctx.work_dir.exists()


def files(root: Path) -> dict[Path, bytes]:
    return {path.relative_to(root): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def small_recipes(root: Path) -> None:
    write(root / "files" / "app.conf", "x=1\n")


def many_files(root: Path) -> None:
    for index in range(SMALL_ENTRIES + 10):
        write(root / "files" / f"{index}.txt", f"{index}\n")


def one_big_file(root: Path) -> None:
    write(root / "tree" / "big.bin", "x" * (SMALL_BYTES + 1))


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(small_recipes, id="small recipes (copied and removed on the loop)"),
        pytest.param(many_files, id="many files (copied and removed in a thread)"),
        pytest.param(one_big_file, id="a big file (copied and removed in a thread)"),
    ],
)
def test_recipes_of_any_size_are_copied_in_full_and_removed(
    tmp_path: Path, make: Callable[[Path], None]
) -> None:
    recipes = tmp_path / "recipes" / "App"
    make(recipes)
    ctx = context(tmp_path)
    plugin = ScriptPlugin()
    assert asyncio.run(plugin.run("deploy", ctx)).ok
    assert files(ctx.work_dir) == files(recipes)
    assert asyncio.run(plugin.run("undeploy", ctx)).ok
    assert not ctx.work_dir.exists()


def entries(count: int) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        for index in range(count):
            write(root / "tree" / "sub" / f"{index}", "")

    return make


def link_to_many(root: Path) -> None:
    entries(SMALL_ENTRIES + 1)(root / "elsewhere")
    (root / "tree").mkdir()
    (root / "tree" / "link").symlink_to(root / "elsewhere")


@pytest.mark.parametrize(
    "make, follow_links, small",
    [
        pytest.param(lambda root: None, True, True, id="a missing tree is small"),
        pytest.param(entries(SMALL_ENTRIES - 1), True, True, id="a tree at the limit is small"),
        pytest.param(entries(SMALL_ENTRIES), True, False, id="one entry more is not"),
        pytest.param(one_big_file, True, False, id="a file too big is not"),
        pytest.param(link_to_many, True, False, id="a link to a big folder, followed, is not"),
        pytest.param(link_to_many, False, True, id="a link to a big folder, not followed, is"),
    ],
)
def test_what_is_small_enough_for_the_loop(
    tmp_path: Path, make: Callable[[Path], None], follow_links: bool, small: bool
) -> None:
    make(tmp_path)
    assert is_small([tmp_path / "tree"], follow_links=follow_links) is small


def test_a_failed_undeploy_keeps_the_files_to_look_at(tmp_path: Path) -> None:
    script(tmp_path / "recipes" / "App", "undeploy.sh", "exit 1\n")
    ctx = context(tmp_path)
    assert not asyncio.run(ScriptPlugin().run("undeploy", ctx)).ok
    assert ctx.work_dir.is_dir()


def test_a_symbolic_link_planted_in_the_data_dir_is_refused(tmp_path: Path) -> None:
    script(tmp_path / "recipes" / "App", "deploy.sh", "touch escaped\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "data" / "script").mkdir(parents=True)
    (tmp_path / "data" / "script" / "vm_app").symlink_to(outside)
    result = asyncio.run(ScriptPlugin().run("deploy", context(tmp_path)))
    assert not result.ok
    assert "leads outside" in result.reason
    assert list(outside.iterdir()) == []


def test_an_unknown_step_is_a_programming_error(tmp_path: Path) -> None:
    ctx = context(tmp_path, limits=StepLimits())
    with pytest.raises(ValueError, match="unknown step 'restart'"):
        asyncio.run(LoggerPlugin().run("restart", ctx))
