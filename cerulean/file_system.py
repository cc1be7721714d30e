"""The FileSystem interface that all file systems share."""
from __future__ import annotations

from abc import ABC

from cerulean._closing import Closing
from cerulean.path import Path


class UnsupportedOperationError(RuntimeError):
    """Raised when an unsupported method is called.

    See WebdavFileSystem.
    """


class FileSystem(Closing, ABC):
    """Represents a file system.

    This is a generic interface class that all file systems inherit from,
    so you can use it wherever any file system will do.

    In order to do something useful, you'll want an actual file system,
    like a LocalFileSystem or an SftpFileSystem.

    FileSystems may hold resources, so you should either use them with a
    with statement, or call close() on the returned object when you are
    done with it.

    Beyond that, file systems support a single operation:

    .. code-block:: python

      fs / 'path'

    which produces a Path, through which you can do things with files.
    """

    def close(self) -> None:
        """Close connections and free resources, if any.

        FileSystem objects may hold resources that need to be freed when
        you are done with the object. You can free them by calling this
        function, or you can use the FileSystem as a context manager using a
        with statement.
        """

    # Not abstract, as in Cerulean 1.0: a subclass written for 1.0 need
    # not have these (FileSystemImpl provides them), and equality and
    # hashing default to identity.

    def root(self) -> Path:
        """Returns a Path representing the root of the file system."""
        raise NotImplementedError(f"{type(self).__name__} has no root()")

    def __truediv__(self, segment: str) -> Path:
        """Returns the Path ``/segment`` on this file system."""
        raise NotImplementedError(f"{type(self).__name__} has no / operator")
