"""``roboconf validate`` on folders, zips and single graph files: output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roboconf.cli.main import app
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "webstack"
runner = CliRunner()

DESCRIPTOR = "name = broken\nversion = 1.0\ngraph-entry-point = main.graph\n"
BROKEN_GRAPH = "VM {\n\tinstaller: target;\n\tchildren: App\n}\n"  # line 3 lacks ';'


def write_template(root: Path, graph: str, extra: dict[str, str] | None = None) -> Path:
    files = {"descriptor/application.properties": DESCRIPTOR, "graph/main.graph": graph}
    files.update(extra or {})
    for relative, content in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content, encoding="utf-8")
    return root


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(folder.rglob("*")):
            zipped.write(path, path.relative_to(folder).as_posix())
    return archive


def test_the_bundled_example_is_valid() -> None:
    result = runner.invoke(app, ["validate", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "valid (0 error(s), 0 warning(s))" in result.output


def test_errors_are_listed_with_file_line_code_and_exit_1(tmp_path: Path) -> None:
    template = write_template(tmp_path / "t", BROKEN_GRAPH)
    result = runner.invoke(app, ["validate", str(template)])
    assert result.exit_code == 1
    assert "graph/main.graph:3" in result.output
    assert "error P_PROPERTY_ENDS_WITH_SEMI_COLON" in result.output


def test_json_output_lists_every_diagnostic_with_its_fields(tmp_path: Path) -> None:
    template = write_template(tmp_path / "t", BROKEN_GRAPH)
    result = runner.invoke(app, ["validate", str(template), "--json"])
    assert result.exit_code == 1
    diagnostics = json.loads(result.output)
    assert diagnostics, result.output
    for diagnostic in diagnostics:
        assert set(diagnostic) == {
            "code",
            "severity",
            "file",
            "line",
            "column",
            "message",
            "details",
        }
        assert diagnostic["severity"] in ("error", "warning")
    assert {"code": "P_PROPERTY_ENDS_WITH_SEMI_COLON", "line": 3} in [
        {"code": d["code"], "line": d["line"]} for d in diagnostics
    ]


def test_warnings_alone_exit_0(tmp_path: Path) -> None:
    template = write_template(tmp_path / "t", "VM {\n\tinstaller: target;\n}\n")
    result = runner.invoke(app, ["validate", str(template), "--json"])
    assert result.exit_code == 0, result.output
    codes = [d["code"] for d in json.loads(result.output)]
    assert codes == ["PROJ_NO_RESOURCE_DIRECTORY"]


def test_a_zip_is_validated_like_its_folder(tmp_path: Path) -> None:
    archive = zip_folder(EXAMPLE, tmp_path / "webstack.zip")
    assert runner.invoke(app, ["validate", str(archive)]).exit_code == 0
    broken = zip_folder(write_template(tmp_path / "b", BROKEN_GRAPH), tmp_path / "b.zip")
    result = runner.invoke(app, ["validate", str(broken), "--json"])
    assert result.exit_code == 1
    assert "graph/main.graph" in [d["file"] for d in json.loads(result.output)]


def test_an_unsafe_zip_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("../escape.txt", "x")
    result = runner.invoke(app, ["validate", str(archive), "--json"])
    assert result.exit_code == 1
    assert [d["code"] for d in json.loads(result.output)] == ["PROJ_UNSAFE_ARCHIVE"]
    assert not (tmp_path.parent / "escape.txt").exists()


@pytest.mark.parametrize(
    ("graph", "exit_code", "code"),
    [
        pytest.param("VM {\n\tinstaller: target;\n}\n", 0, None, id="a valid graph"),
        pytest.param(BROKEN_GRAPH, 1, "P_PROPERTY_ENDS_WITH_SEMI_COLON", id="a syntax error"),
        pytest.param(
            "App {\n\tinstaller: script;\n}\n",
            1,
            "RM_ROOT_INSTALLER_MUST_BE_TARGET",
            id="a model error",
        ),
    ],
)
def test_a_single_graph_file_gets_graph_checks_only(
    tmp_path: Path, graph: str, exit_code: int, code: str | None
) -> None:
    path = tmp_path / "alone.graph"
    path.write_text(graph, encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code == exit_code, result.output
    codes = [d["code"] for d in json.loads(result.output)]
    assert codes == ([code] if code else [])


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nothing")])
    assert result.exit_code == 2


def test_the_installed_command_runs_as_a_process() -> None:
    command = [sys.executable, "-m", "roboconf", "validate", str(EXAMPLE)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "valid" in completed.stdout
