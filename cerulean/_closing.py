"""Objects that hold resources, closed at the end of a with block."""
from __future__ import annotations

from types import TracebackType

from typing_extensions import Self


class Closing:
    """A with block closes the object: ``with x: ...`` ends in ``x.close()``.

    Terminals and file systems both hold connections, and Cerulean 1.0
    lets either be used as a context manager; this is that, once.
    """

    def __enter__(self) -> Self:
        """Enter a with block; returns the object itself."""
        return self

    def __exit__(self, exc_type: type[BaseException] | None,
                 exc_value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        """Leave a with block, closing the object."""
        self.close()

    def close(self) -> None:
        """Free the object's resources; by default there are none."""
