"""The file installer: instructions.properties, against real files and a local web server."""

from __future__ import annotations

import asyncio
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from roboconf.plugins import FilePlugin, StepResult
from roboconf.plugins.file import parse_instructions
from tests.plugins.helpers import context, write


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving a folder with ``app.war``; yields its base URL."""
    root = tmp_path_factory.mktemp("web")
    (root / "app.war").write_bytes(b"PK war content")
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run_file(
    tmp_path: Path, step: str, instructions: str, *, allowed: tuple[Path, ...] = ()
) -> tuple[StepResult, Path]:
    recipes = tmp_path / "recipes" / "App"
    write(recipes / "instructions.properties", instructions)
    write(recipes / "files" / "app.conf", "x=1\n")
    ctx = context(tmp_path, installer="file")
    result = asyncio.run(FilePlugin(allowed_roots=allowed).run(step, ctx))
    return result, ctx.work_dir


def test_download_copy_move_delete_in_numeric_order(tmp_path: Path, web: str) -> None:
    instructions = f"""\
deploy.10.delete = files/app.conf
deploy.1.download = {web}/app.war
deploy.2.download = {web}/app.war -> cache/copy.war
deploy.3.copy = files/app.conf -> conf/app.conf
deploy.4.move = app.war -> webapps/
deploy.5.copy = conf -> conf-backup
start.1.delete = webapps
"""
    result, work = run_file(tmp_path, "deploy", instructions)
    assert result.ok, result.reason
    assert (work / "webapps" / "app.war").read_bytes() == b"PK war content"
    assert (work / "cache" / "copy.war").read_bytes() == b"PK war content"
    assert (work / "conf" / "app.conf").read_text() == "x=1\n"
    assert (work / "conf-backup" / "app.conf").read_text() == "x=1\n"
    assert not (work / "files" / "app.conf").exists()  # 10 comes after 5
    assert not (work / "app.war").exists()
    assert (
        result.output.splitlines()[0]
        == f"deploy.1.download: downloaded {web}/app.war to app.war (14 bytes)"
    )
    assert (work / "webapps").is_dir(), "start instructions did not run at deploy"


def test_a_step_without_instructions_is_a_no_op(tmp_path: Path) -> None:
    result, _ = run_file(tmp_path, "stop", "deploy.1.delete = files\n")
    assert (result.ok, result.executed) == (True, False)


def test_deleting_what_is_not_there_is_fine(tmp_path: Path) -> None:
    result, _ = run_file(tmp_path, "undeploy", "undeploy.1.delete = nothing/here\n")
    assert result.ok, result.reason


@pytest.mark.parametrize(
    "instruction, reason",
    [
        pytest.param(
            "deploy.1.copy = ../../etc/passwd -> x",
            "deploy.1.copy (line 1) failed: '../../etc/passwd' leads outside the work directory",
            id="a relative path climbing out",
        ),
        pytest.param(
            "deploy.1.copy = files/app.conf -> /tmp/app.conf",
            "deploy.1.copy (line 1) failed: '/tmp/app.conf' is outside the allowed directories "
            "(none configured); use a path relative to the work directory, or allow its directory "
            "in the agent's configuration",
            id="an absolute path not allowed",
        ),
        pytest.param(
            "deploy.1.delete = .",
            "deploy.1.delete (line 1) failed: '.' leads outside the work directory",
            id="the work directory itself",
        ),
        pytest.param(
            "deploy.1.move = files/app.conf",
            "deploy.1.move (line 1) failed: expected 'source -> target', got 'files/app.conf'",
            id="a move without target",
        ),
        pytest.param(
            "deploy.1.copy = missing.txt -> x",
            "deploy.1.copy (line 1) failed: 'missing.txt' does not exist",
            id="a missing source",
        ),
        pytest.param(
            "deploy.1.download = file:///etc/passwd",
            "deploy.1.download (line 1) failed: 'file:///etc/passwd' is not an http or https URL",
            id="a URL that is not http",
        ),
    ],
)
def test_refused_instructions(tmp_path: Path, instruction: str, reason: str) -> None:
    result, _ = run_file(tmp_path, "deploy", instruction + "\n")
    assert (result.ok, result.reason) == (False, reason)


def test_a_download_that_fails_names_the_error(tmp_path: Path, web: str) -> None:
    result, work = run_file(tmp_path, "deploy", f"deploy.1.download = {web}/nothing.war\n")
    assert not result.ok
    assert result.reason.startswith("deploy.1.download (line 1) failed: HTTP Error 404")
    assert not (work / "nothing.war").exists()


def test_an_absolute_path_inside_an_allowed_root(tmp_path: Path) -> None:
    webapps = tmp_path / "tomcat" / "webapps"
    webapps.mkdir(parents=True)
    instruction = f"deploy.1.copy = files/app.conf -> {webapps}/app.conf\n"
    result, _ = run_file(tmp_path, "deploy", instruction, allowed=(webapps,))
    assert result.ok, result.reason
    assert (webapps / "app.conf").read_text() == "x=1\n"


def test_instructions_stop_at_the_first_failure(tmp_path: Path) -> None:
    instructions = "deploy.1.copy = nope -> x\ndeploy.2.copy = files/app.conf -> y\n"
    result, work = run_file(tmp_path, "deploy", instructions)
    assert not result.ok
    assert not (work / "y").exists()


@pytest.mark.parametrize(
    "text, problem",
    [
        pytest.param("deplyo.1.copy = a -> b", "line 1: unknown step 'deplyo'", id="a bad step"),
        pytest.param(
            "deploy.x.copy = a -> b",
            "line 1: 'x' in 'deploy.x.copy' is not a number",
            id="a position that is not a number",
        ),
        pytest.param("deploy.1.unzip = a", "line 1: unknown action 'unzip'", id="a bad action"),
        pytest.param(
            "deploy.copy = a",
            "line 1: 'deploy.copy' is not <step>.<n>.<action>",
            id="a key of two parts",
        ),
    ],
)
def test_malformed_instructions(text: str, problem: str) -> None:
    instructions, problems = parse_instructions(text)
    assert instructions == []
    assert len(problems) == 1 and problems[0].startswith(problem)


def test_a_malformed_file_fails_every_step_with_its_lines(tmp_path: Path) -> None:
    result, _ = run_file(tmp_path, "start", "start.1.delete = a\n\ndeploy.x.copy = a -> b\n")
    assert not result.ok
    assert result.reason == (
        "instructions.properties is malformed: line 3: 'x' in 'deploy.x.copy' is not a number"
    )
