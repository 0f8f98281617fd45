"""Where a template's files come from: a folder, or a zip extracted safely.

A zip is refused whole (nothing written) when any entry would land outside the extraction
folder (absolute path, ``..``, drive letter), is a symbolic link or a device, or when the archive
is larger, has more entries, or inflates more than the limits allow ("zip bombs").
"""

from __future__ import annotations

import contextlib
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from roboconf.errors import RoboconfError

MAX_ARCHIVE_BYTES = 1 << 30  # uncompressed total
MAX_ARCHIVE_ENTRIES = 20_000
MAX_COMPRESSION_RATIO = 200


class UnsafeArchiveError(RoboconfError):
    """A zip that cannot be extracted without risk; the message names the entry and the rule."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateFiles:
    """The files of a template on disk: ``root`` and sorted POSIX paths relative to it."""

    root: Path
    files: tuple[str, ...]
    dirs: frozenset[str]

    def exists(self, relative: str) -> bool:
        return relative in self.files

    def is_dir(self, relative: str) -> bool:
        return relative in self.dirs

    def read_text(self, relative: str) -> str | None:
        if relative not in self.files:
            return None
        try:
            return (self.root / relative).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def under(self, folder: str) -> tuple[str, ...]:
        prefix = folder.rstrip("/") + "/"
        return tuple(f for f in self.files if f.startswith(prefix))


def scan_folder(root: Path) -> TemplateFiles:
    files: list[str] = []
    dirs: set[str] = set()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_dir():
            dirs.add(relative)
        elif path.is_file():
            files.append(relative)
    return TemplateFiles(root=root, files=tuple(files), dirs=frozenset(dirs))


@contextlib.contextmanager
def open_template(path: Path) -> Iterator[TemplateFiles]:
    """Yield the files of a template folder or zip (extracted into a temporary folder)."""
    if path.is_dir():
        yield scan_folder(path)
        return
    with tempfile.TemporaryDirectory(prefix="roboconf-template-") as tmp:
        target = Path(tmp)
        extract_zip(path, target)
        yield scan_folder(template_root(target))


def extract_zip(archive: Path, target: Path) -> None:
    """Extract ``archive`` into ``target`` after checking every entry; refuse all or nothing."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
            _check_members(members, archive)
            for member in members:
                destination = target.joinpath(*PurePosixPath(member.filename).parts)
                if member.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(member) as source, destination.open("wb") as sink:
                    _copy_bounded(source, sink, member)
    except zipfile.BadZipFile as error:
        raise UnsafeArchiveError(f"{archive}: not a valid zip archive ({error})") from error


def _check_members(members: list[zipfile.ZipInfo], archive: Path) -> None:
    if len(members) > MAX_ARCHIVE_ENTRIES:
        raise UnsafeArchiveError(
            f"{archive}: {len(members)} entries, more than the limit of {MAX_ARCHIVE_ENTRIES}"
        )
    total = sum(m.file_size for m in members)
    if total > MAX_ARCHIVE_BYTES:
        raise UnsafeArchiveError(
            f"{archive}: {total} bytes once extracted, more than the limit of {MAX_ARCHIVE_BYTES}"
        )
    for member in members:
        name = member.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or (parts and parts[0].endswith(":")):
            raise UnsafeArchiveError(f"{archive}: entry {name!r} has an absolute path")
        if ".." in parts:
            raise UnsafeArchiveError(f"{archive}: entry {name!r} escapes the template folder")
        kind = stat.S_IFMT(member.external_attr >> 16)
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise UnsafeArchiveError(
                f"{archive}: entry {name!r} is a symbolic link or a special file"
            )
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 1 << 20 and ratio > MAX_COMPRESSION_RATIO:
            raise UnsafeArchiveError(
                f"{archive}: entry {name!r} inflates {ratio:.0f} times (a zip bomb?)"
            )


def _copy_bounded(source: object, sink: object, member: zipfile.ZipInfo) -> None:
    """Copy at most the declared size: a forged header cannot make us write more."""
    remaining = member.file_size
    while True:
        chunk = source.read(min(1 << 16, remaining + 1))  # type: ignore[attr-defined]
        if not chunk:
            return
        remaining -= len(chunk)
        if remaining < 0:
            raise UnsafeArchiveError(f"entry {member.filename!r} is larger than it declares")
        sink.write(chunk)  # type: ignore[attr-defined]


def template_root(extracted: Path) -> Path:
    """A zip may wrap the template in one top-level folder; use it as the root then."""
    if (extracted / "descriptor").is_dir() or (extracted / "graph").is_dir():
        return extracted
    children = [p for p in extracted.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    if len(children) == 1 and children[0].is_dir():
        return children[0]
    return extracted
