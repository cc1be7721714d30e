"""copy(): files and directory trees between any two file systems."""
from __future__ import annotations

from collections.abc import Callable

from cerulean.path import Path

CopyCallback = Callable[[int, int], None]
"""The type of a callback function for the copy() function.

A callback function takes two arguments, the number of bytes copied thus
far, and the approximate total number of bytes to copy. To interrupt the
copy operation, raise an exception.
"""


def copy(source_path: Path, target_path: Path, overwrite: str = "never",
         copy_into: bool = True, copy_permissions: bool = False,
         callback: CopyCallback | None = None) -> None:
    """Copy a file or directory from one path to another (provisional)."""
    raise NotImplementedError("being written")
