"""The DM's template library on disk.

The store keeps each template as a zip archive (so that a DM on PostgreSQL keeps its templates
when its host is replaced); the DM and in-memory agents read recipes from files, so every
template is also unpacked once under ``<data dir>/templates/<name>/<version>/``.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import tempfile
import zipfile
from pathlib import Path

from roboconf.plugins.workdir import safe_name
from roboconf.project.loader import TemplateLoad, load_template
from roboconf.project.source import extract_zip, template_root


def pack(path: Path) -> bytes:
    """The bytes of a template zip, or of a template folder zipped in memory."""
    if not path.is_dir():
        return path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file() and not file.is_symlink():
                archive.write(file, file.relative_to(path).as_posix())
    return buffer.getvalue()


def inspect(archive: bytes, label: str = "the uploaded archive") -> TemplateLoad:
    """Load (and validate) a template from its archive, without keeping anything; diagnostics
    about the archive itself name it ``label`` (not a temporary file)."""
    with tempfile.TemporaryDirectory(prefix="roboconf-upload-") as folder:
        zipped = Path(folder) / "template.zip"
        zipped.write_bytes(archive)
        load = load_template(zipped)
    diagnostics = tuple(
        dataclasses.replace(d, file=label, message=d.message.replace(str(zipped), label))
        if d.file == str(zipped)
        else d
        for d in load.diagnostics
    )
    return dataclasses.replace(load, diagnostics=diagnostics)


def folder_of(root: Path, name: str, version: str) -> Path:
    return root / (safe_name(name) or "_") / (safe_name(version) or "_")


def unpack(root: Path, name: str, version: str, archive: bytes) -> Path:
    """Unpack ``archive`` as template ``name``/``version`` (replacing an older copy) and
    return the template's root folder (a zip may wrap it in one top folder)."""
    final = folder_of(root, name, version)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=final.parent))
    try:
        zipped = staging / "template.zip"
        zipped.write_bytes(archive)
        extract_zip(zipped, staging / "files")
        zipped.unlink()
        if final.exists():
            shutil.rmtree(final)
        (staging / "files").rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return template_root(final)


def unpacked(root: Path, name: str, version: str) -> Path | None:
    """The root folder of an unpacked template, if it is there."""
    final = folder_of(root, name, version)
    return template_root(final) if final.is_dir() else None


def remove(root: Path, name: str, version: str) -> None:
    shutil.rmtree(folder_of(root, name, version), ignore_errors=True)
