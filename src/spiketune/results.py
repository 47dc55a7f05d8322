"""Files of spiketune: atomic writes (temporary file, then rename) with the user's umask,
a lock per results folder, the finished marker, and YAML mappings."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import re
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

LOCK = ".spiketune.lock"
FINISHED = "finished.json"


def umask() -> int:
    """The process's umask (read from /proc where possible, so no thread sees it changed)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, write: Callable[[BinaryIO], Any]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it over ``path``:
    readers see the old file or the whole new one, never a part. The file gets the
    permissions an ordinary ``open`` would give it (0666 less the umask)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w+b") as f:  # readable too: HDF5 writers read back what they wrote
            write(f)
            f.flush()
            os.fchmod(f.fileno(), 0o666 & ~umask())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def write_text(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda f: f.write(text.encode()))


def save_torch(path: str | Path, obj: Any) -> Path:
    """``torch.save`` through :func:`write_atomic`."""
    import torch

    return write_atomic(path, lambda f: torch.save(obj, f))


def save_figure(fig: Any, path: str | Path) -> Path:
    """A matplotlib figure written atomically, in the format its file name says."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    return write_atomic(path, lambda f: fig.savefig(f, format=fmt))


def read_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """A YAML file holding a mapping; ConfigError names the file when it is not one."""
    import yaml

    from spiketune.errors import ConfigError

    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as e:
        raise ConfigError(f"cannot read {what} {p}: not UTF-8 text (byte {e.start})") from None
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read {what} {p}: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{what} {p} must be a mapping, got {type(raw).__name__}")
    return raw


def write_json(path: str | Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, default=float) + "\n")


def write_csv(path: str | Path, rows: Iterable[dict[str, Any]]) -> Path:
    rows = list(rows)
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields)
    w.writeheader()
    w.writerows(rows)
    return write_text(path, buf.getvalue())


def load_validated(path: str | Path, what: str, from_dict: Callable[[dict[str, Any]], Any]) -> Any:
    """Read a YAML mapping and validate it with ``from_dict``; errors name the file."""
    from spiketune.errors import ConfigError

    p = Path(path)
    raw = read_mapping(p, what)
    try:
        return from_dict(raw)
    except ConfigError as e:
        raise ConfigError(f"{p}: {e}") from None


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


def check_name(name: str, what: str) -> str:
    """``name`` if it can be one path component inside an output folder (letters, digits,
    ``._+-``, not starting with a dot); ConfigError otherwise, so no name leaves the folder."""
    from spiketune.errors import ConfigError

    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ConfigError(f"{what} {name!r} cannot name a folder: use 1-128 letters, digits and "
                          f"'._+-', starting with a letter or digit")
    return name


@contextmanager
def folder_lock(folder: str | Path) -> Iterator[None]:
    """Hold ``folder``'s lock (``.spiketune.lock``, naming the holder) while writing into it.

    A second process gets a FolderLocked error naming the holder; the lock is released
    (and its file removed) when the block ends, also when the holder is killed."""
    from spiketune.errors import FolderLocked

    path = Path(folder) / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise FolderLocked(f"results folder {path.parent} is in use by {holder}; wait for it to "
                               f"end or use another folder") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the previous holder removed the file as we opened it: take the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, (f"pid {os.getpid()} on {socket.gethostname()} since "
                      f"{time.strftime('%Y-%m-%d %H:%M:%S')} ({' '.join(sys.argv[:3])})\n").encode())
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def mark_finished(folder: str | Path) -> Path:
    """Write the finished marker: the last file of a complete results folder, listing the
    size of every file written before it."""
    out = Path(folder)
    files = {str(p.relative_to(out)): p.stat().st_size for p in sorted(out.rglob("*"))
             if p.is_file() and not p.name.startswith(".") and p.name != FINISHED}
    return write_json(out / FINISHED, {"files": files})


def is_finished(folder: str | Path) -> bool:
    """Whether ``folder`` holds a complete results set: its finished marker is readable and
    every file it lists is there with the listed size."""
    out = Path(folder)
    try:
        files = json.loads((out / FINISHED).read_text())["files"]
        return all((out / name).stat().st_size == size for name, size in files.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
