"""An engine asset or archive → the zip file Lambda takes.

The engine sends an archive as named assets/archives (``AssetArchive``), a path (``FileArchive``: a
folder, or a .zip/.jar file sent as it is) or a URI; a file asset by its path. A relative path is
relative to the program's folder (the provider process runs there).
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from .values import Archive, Asset

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # one timestamp for every entry: the same content zips to the same bytes


def zip_bytes(archive: Archive | Asset, base: Path) -> bytes:
    """The zip of ``archive`` (a zip file's own bytes when it is one)."""
    if isinstance(archive, Archive) and archive.path and archive.path.endswith((".zip", ".jar")):
        return _resolve(archive.path, base).read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        _add(out, "", archive, base)
    return buffer.getvalue()


def _resolve(path: str, base: Path) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else base / candidate


def _add(out: zipfile.ZipFile, prefix: str, item: Archive | Asset, base: Path) -> None:
    if isinstance(item, Asset):
        _write(out, prefix or "asset", _asset_bytes(item, base))
    elif item.assets is not None:
        for name, child in sorted(item.assets.items()):
            _add(out, f"{prefix}{name}" if isinstance(child, Asset) else f"{prefix}{name}/", child, base)
    elif item.path:
        _add_folder(out, prefix, _resolve(item.path, base))
    else:
        raise ValueError(f"cannot zip an archive from {item.uri or 'nothing'} (only paths and assets are supported)")


def _add_folder(out: zipfile.ZipFile, prefix: str, folder: Path) -> None:
    if folder.is_file():
        with zipfile.ZipFile(folder) as inner:
            for name in sorted(inner.namelist()):
                if not name.endswith("/"):
                    _write(out, prefix + name, inner.read(name))
        return
    for root, _dirs, files in sorted(os.walk(folder)):
        for name in sorted(files):
            path = Path(root) / name
            _write(out, prefix + path.relative_to(folder).as_posix(), path.read_bytes())


def _asset_bytes(asset: Asset, base: Path) -> bytes:
    if asset.text is not None:
        return asset.text.encode()
    if asset.path is not None:
        return _resolve(asset.path, base).read_bytes()
    raise ValueError(f"cannot read asset {asset.uri!r} (only files and text are supported)")


def _write(out: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, FIXED_TIME)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    out.writestr(info, data)
