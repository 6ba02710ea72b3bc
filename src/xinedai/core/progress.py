"""Live progress of long jobs, kept beside the database so a job's open transaction cannot hide it.

A job writes small JSON files under VAR_DIR/progress; pages poll them. Atomic replace, no locking.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings


def _path(key: str) -> Path:
    return Path(settings.VAR_DIR) / "progress" / f"{key}.json"


def write(key: str, **data: Any) -> None:
    path = _path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


def read(key: str) -> dict[str, Any]:
    try:
        return json.loads(_path(key).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def clear(key: str) -> None:
    _path(key).unlink(missing_ok=True)
