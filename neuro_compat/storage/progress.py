"""Progress events of storage transfers and deletions, and the abstract
classes a caller implements to receive them (as in neuro_sdk).

All callbacks are called on the event-loop thread, in this order for
``upload_dir``/``download_dir``: ``enter(dir)``; then for each file
``start``, ``step`` (one or more, with a growing ``current``), ``complete``
(files of a directory are transferred several at once, so the events of
different files interleave); subdirectories likewise; ``fail`` for entries
that cannot be transferred (special files); ``leave(dir)`` once everything in
it is done. ``rm(recursive=True)`` calls ``delete`` for each entry after its
contents. A callback that raises stops the operation, which then raises that
exception.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass

from yarl import URL


@dataclass(frozen=True)
class StorageProgressStart:
    """Transmission of a file starts.

    :ivar src: ``yarl.URL`` of source file, e.g. ``URL("file:/home/user/upload.txt")``.
    :ivar dst: ``yarl.URL`` of destination file, e.g.
        ``URL("storage://cluster/user/upload_to.txt")``.
    :ivar size: size of the transmitted file, in bytes, ``int``.
    """

    src: URL
    dst: URL
    size: int


@dataclass(frozen=True)
class StorageProgressStep:
    """Transmission of a file progresses.

    :ivar src: ``yarl.URL`` of source file.
    :ivar dst: ``yarl.URL`` of destination file.
    :ivar current: count of the transmitted bytes, ``int``.
    :ivar size: size of the transmitted file, in bytes, ``int``.
    """

    src: URL
    dst: URL
    current: int
    size: int


@dataclass(frozen=True)
class StorageProgressComplete:
    """Transmission of a file completed.

    :ivar src: ``yarl.URL`` of source file.
    :ivar dst: ``yarl.URL`` of destination file.
    :ivar size: size of the transmitted file, in bytes, ``int``.
    """

    src: URL
    dst: URL
    size: int


@dataclass(frozen=True)
class StorageProgressEnterDir:
    """A recursive transfer enters a directory.

    :ivar src: ``yarl.URL`` of source directory.
    :ivar dst: ``yarl.URL`` of destination directory.
    """

    src: URL
    dst: URL


@dataclass(frozen=True)
class StorageProgressLeaveDir:
    """A recursive transfer leaves a directory; all files in it are done.

    :ivar src: ``yarl.URL`` of source directory.
    :ivar dst: ``yarl.URL`` of destination directory.
    """

    src: URL
    dst: URL


@dataclass(frozen=True)
class StorageProgressFail:
    """An entry could not be transferred (for example a special file).

    :ivar src: ``yarl.URL`` of source file that triggered error.
    :ivar dst: ``yarl.URL`` of destination file.
    :ivar message: explanation message for the error, ``str``.
    """

    src: URL
    dst: URL
    message: str


@dataclass(frozen=True)
class StorageProgressDelete:
    """An entry was deleted.

    :ivar uri: ``yarl.URL`` of the deleted file.
    :ivar is_dir: True if removed item was a directory; False otherwise.
    """

    uri: URL
    is_dir: bool


class AbstractFileProgress(abc.ABC):
    """Base class for file upload/download progress.

    Inherit from it and override the abstract methods to get progress info
    from :meth:`Storage.upload_file` and :meth:`Storage.download_file`.
    """

    @abc.abstractmethod
    def start(self, data: StorageProgressStart) -> None:
        """Called when transmission of the file starts.

        :param data: data for this event.
        """

    @abc.abstractmethod
    def step(self, data: StorageProgressStep) -> None:
        """Called when transmission of the file progresses (more bytes are
        transmitted).

        :param data: data for this event.
        """

    @abc.abstractmethod
    def complete(self, data: StorageProgressComplete) -> None:
        """Called when transmission of the file completes.

        :param data: data for this event.
        """


class AbstractRecursiveFileProgress(AbstractFileProgress):
    """Base class for recursive upload/download progress.

    Inherit from it and override the abstract methods to get progress info
    from :meth:`Storage.upload_dir` and :meth:`Storage.download_dir`.
    """

    @abc.abstractmethod
    def enter(self, data: StorageProgressEnterDir) -> None:
        """Called when recursive process enters directory.

        :param data: data for this event.
        """

    @abc.abstractmethod
    def leave(self, data: StorageProgressLeaveDir) -> None:
        """Called when recursive process leaves directory. All files in that
        directory are now transmitted.

        :param data: data for this event.
        """

    @abc.abstractmethod
    def fail(self, data: StorageProgressFail) -> None:
        """Called when recursive process fails for an entry, for example a
        special file (like block device file). Check ``data.message`` to get
        error details.

        :param data: data for this event.
        """


class AbstractDeleteProgress(abc.ABC):
    """Base class for file/directory delete progress.

    Inherit from it and override :meth:`delete` to get progress info from
    :meth:`Storage.rm` calls.
    """

    @abc.abstractmethod
    def delete(self, data: StorageProgressDelete) -> None:
        """Called when single item (either file or directory) was deleted.
        Directory removal happens after removal of all files and
        subdirectories it contains.

        :param data: data for this event.
        """
