"""Zip templates: safe extraction, all or nothing."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from roboconf.project.source import UnsafeArchiveError, extract_zip, open_template


def make_zip(path: Path, entries: dict[str, bytes], *, symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in entries.items():
            zipped.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zipped.writestr(info, "/etc/passwd")
    return path


@pytest.mark.parametrize(
    "name",
    ["../evil.txt", "graph/../../evil.txt", "/tmp/evil.txt", "C:/evil.txt", "..\\evil.txt"],
)
def test_entries_escaping_the_folder_are_refused_and_nothing_is_written(
    tmp_path: Path, name: str
) -> None:
    archive = make_zip(tmp_path / "t.zip", {"graph/ok.graph": b"VM {\n}\n", name: b"x"})
    target = tmp_path / "out" / "inner"
    target.mkdir(parents=True)
    with pytest.raises(UnsafeArchiveError, match="evil"):
        extract_zip(archive, target)
    assert list(target.iterdir()) == []
    assert not (tmp_path / "evil.txt").exists()


def test_symbolic_links_are_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "t.zip", {"a": b"x"}, symlink="graph/link")
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        extract_zip(archive, tmp_path)


def test_zip_bombs_are_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "t.zip", {"big": b"\0" * (8 << 20)})
    with pytest.raises(UnsafeArchiveError, match="inflates"):
        extract_zip(archive, tmp_path)


def test_a_file_that_is_no_zip_is_reported(tmp_path: Path) -> None:
    bogus = tmp_path / "t.zip"
    bogus.write_text("not a zip")
    with pytest.raises(UnsafeArchiveError, match="not a valid zip"):
        extract_zip(bogus, tmp_path)


def test_a_wrapping_top_folder_is_the_template_root(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "t.zip",
        {"app/descriptor/application.properties": b"name = a", "app/graph/g.graph": b""},
    )
    with open_template(archive) as files:
        assert files.files == ("descriptor/application.properties", "graph/g.graph")
        assert files.is_dir("graph")
        assert files.read_text("descriptor/application.properties") == "name = a"
