"""Atomic file writes: write a temporary file next to the target, then rename it over the target.

The project's rule is that nothing already recorded or calibrated is lost on a crash. A plain ``open(path, "w")``
truncates the old file first, so a crash (or an exception in the writer) in the middle leaves a half-written file.
Writing a sibling temporary file and then calling :func:`os.replace` (atomic on POSIX and Windows when both names
are in the same folder) means a reader always sees either the complete old file or the complete new one.

:func:`atomic_path` is the building block for writers that want a file *name* (``np.savez``, ``cv2.imwrite``,
``torch.save``, ``Figure.savefig``); :func:`atomic_open` for code that writes to a file object; :func:`write_text`,
:func:`write_bytes` and :func:`write_json` for the common cases.

Not for: appending to logs, or several writers racing for one file (the last rename wins; nothing is merged).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "atomic_open",
    "atomic_path",
    "remove_stale_temps",
    "temp_path_for",
    "write_bytes",
    "write_json",
    "write_text",
]

_MAX_NAME_CHARS = 96  # of the target's name kept in the temporary name (file names are limited to 255 bytes)
_WRITE_MODES = ("w", "wt", "wb")


def temp_path_for(path: str | os.PathLike[str], suffix: str | None = None) -> Path:
    """A fresh, unused-looking temporary name in the same folder as ``path``; nothing is created.

    The name is ``.<name>.<16 hex digits>.tmp<suffix>``: hidden, unique per call, and ending in the target's
    suffix so that writers choosing a format from the suffix (``.npz``, ``.png``, ``.onnx``) still work and
    ``np.savez`` does not append ``.npz``. Globs such as ``chunk_*.npz`` do not match it (leading dot).

    Args:
        path: The final file.
        suffix: Suffix of the temporary file (default: ``path``'s own suffix, possibly empty).

    Returns:
        A sibling path of ``path``.

    Example:
        >>> temp_path_for("runs/x/labels.npz").name.endswith(".tmp.npz")
        True
    """
    target = Path(path)
    ext = target.suffix if suffix is None else suffix
    return target.with_name(f".{target.name[:_MAX_NAME_CHARS]}.{os.urandom(8).hex()}.tmp{ext}")


def remove_stale_temps(path: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary siblings of ``path`` that a killed write left behind (see :func:`temp_path_for`).

    Only names of the exact form ``.<name>.<16 hex digits>.tmp<suffix>[...]`` are removed; call it when no other
    write of ``path`` can be in progress (on start, or before the next write of a single-writer file).

    Args:
        path: The final file.

    Returns:
        The removed paths.
    """
    target = Path(path)
    pattern = re.compile(re.escape(f".{target.name[:_MAX_NAME_CHARS]}.") + r"[0-9a-f]{16}\.tmp")
    removed: list[Path] = []
    with contextlib.suppress(OSError):
        for sibling in target.parent.iterdir():
            if pattern.match(sibling.name) and sibling.is_file():
                with contextlib.suppress(OSError):
                    sibling.unlink()
                    removed.append(sibling)
    return removed


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX only; file systems that refuse it are ignored)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_temp(tmp: Path) -> None:
    """Remove ``tmp`` and anything a library made by appending to its (unique) name; never raises."""
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)
        for extra in tmp.parent.iterdir():
            if extra.name.startswith(tmp.name + "."):
                extra.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str], *, suffix: str | None = None, fsync: bool = True, mode: int | None = None
) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on any exception it is removed.

    The temporary file is in the same folder (see :func:`temp_path_for`) and does not exist yet: the writer creates
    it, with the usual permissions. After the block, the file is flushed to disk (``fsync``), renamed onto ``path``
    with :func:`os.replace`, and the folder is synced so that the rename survives a power loss. If the block
    raises, the temporary file is deleted, ``path`` is left untouched and the exception propagates unchanged.
    Nothing else is created: the folder must exist.

    Args:
        path: The final file (replaced if it exists).
        suffix: Suffix of the temporary file (default: ``path``'s suffix). Pass e.g. ``".npz"`` when ``path`` may
            lack the suffix a library insists on.
        fsync: Flush the file and the folder to disk. ``False`` keeps the atomic rename (no half-written file
            after a crash of the process) but not durability after a power loss; for many small regenerable files.
        mode: Permission bits of the new file (e.g. ``0o600``), set before the rename; ``None``: as created.

    Yields:
        The temporary path to write.

    Raises:
        FileNotFoundError: If the block finished without creating the temporary file (e.g. the library appended
            a suffix to it).

    Example:
        >>> import numpy as np, tempfile
        >>> out = Path(tempfile.mkdtemp()) / "arrays.npz"
        >>> with atomic_path(out) as tmp:
        ...     np.savez(tmp, x=np.zeros(3))
        >>> sorted(p.name for p in out.parent.iterdir())
        ['arrays.npz']
    """
    target = Path(path)
    tmp = temp_path_for(target, suffix)
    try:
        yield tmp
        if not tmp.is_file():
            raise FileNotFoundError(f"{target}: the writer did not create the temporary file {tmp.name}")
        if mode is not None:
            os.chmod(tmp, mode)
        if fsync:
            _fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        _remove_temp(tmp)
        raise
    if fsync:
        _fsync_dir(target.parent)


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str],
    mode: str = "w",
    *,
    encoding: str | None = "utf-8",
    newline: str | None = None,
    fsync: bool = True,
) -> Iterator[IO[Any]]:
    """Open a temporary file for writing; on success it replaces ``path`` (see :func:`atomic_path`).

    Args:
        path: The final file.
        mode: ``"w"`` / ``"wt"`` (text) or ``"wb"`` (binary).
        encoding: Text encoding (ignored in binary mode).
        newline: As for :func:`open` (text mode only).
        fsync: See :func:`atomic_path`.

    Yields:
        The open file object; it is closed before the rename.

    Raises:
        ValueError: If ``mode`` is not a write mode listed above.

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp()) / "a.txt"
        >>> with atomic_open(out) as fh:
        ...     _ = fh.write("hello")
        >>> out.read_text()
        'hello'
    """
    if mode not in _WRITE_MODES:
        raise ValueError(f"atomic_open mode must be one of {_WRITE_MODES}, got {mode!r}")
    binary = "b" in mode
    with (
        atomic_path(path, fsync=fsync) as tmp,
        open(tmp, mode, encoding=None if binary else encoding, newline=None if binary else newline) as fh,
    ):
        yield fh


def write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = True, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`).

    Args:
        path: The final file.
        data: The complete new contents.
        fsync: See :func:`atomic_path`.
        mode: See :func:`atomic_path`.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    target = Path(path)
    with atomic_path(target, fsync=fsync, mode=mode) as tmp:
        tmp.write_bytes(data)
    return target


def write_text(
    path: str | os.PathLike[str], text: str, encoding: str = "utf-8", *, fsync: bool = True, mode: int | None = None
) -> Path:
    """Write ``text`` to ``path`` atomically (no newline translation; see :func:`atomic_path`).

    Args:
        path: The final file.
        text: The complete new contents.
        encoding: Text encoding.
        fsync: See :func:`atomic_path`.
        mode: See :func:`atomic_path`.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    return write_bytes(path, text.encode(encoding), fsync=fsync, mode=mode)


def write_json(
    path: str | os.PathLike[str], obj: Any, *, fsync: bool = True, mode: int | None = None, **json_kwargs: Any
) -> Path:
    """Write ``json.dumps(obj, **json_kwargs)`` to ``path`` atomically, UTF-8, without a trailing newline.

    The object is serialised before anything is written, so an unserialisable object leaves no file behind.

    Args:
        path: The final file.
        obj: A JSON-serialisable object.
        fsync: See :func:`atomic_path`.
        mode: See :func:`atomic_path`.
        **json_kwargs: Passed to :func:`json.dumps` (``indent``, ``sort_keys``, ``default``, ...).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Example:
        >>> import tempfile
        >>> out = write_json(Path(tempfile.mkdtemp()) / "a.json", {"a": 1}, indent=1)
        >>> json.loads(out.read_text())
        {'a': 1}
    """
    return write_text(path, json.dumps(obj, **json_kwargs), fsync=fsync, mode=mode)
