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
class _TransferEvent:
    """What every transfer event names: ``src`` and ``dst``, the ``yarl.URL``
    of the source and destination (file or directory), e.g.
    ``URL("file:/home/user/upload.txt")`` and
    ``URL("storage://cluster/user/upload_to.txt")``."""

    src: URL
    dst: URL


@dataclass(frozen=True)
class _FileEvent(_TransferEvent):
    """A transfer event of a whole file: ``size`` is its size in bytes."""

    size: int


@dataclass(frozen=True)
class StorageProgressStart(_FileEvent):
    """Transmission of a file of ``size`` bytes from ``src`` to ``dst``
    starts."""


@dataclass(frozen=True)
class StorageProgressStep(_TransferEvent):
    """Transmission of a file from ``src`` to ``dst`` progresses: ``current``
    of its ``size`` bytes are transmitted."""

    current: int
    size: int


@dataclass(frozen=True)
class StorageProgressComplete(_FileEvent):
    """Transmission of a file of ``size`` bytes from ``src`` to ``dst``
    completed."""


@dataclass(frozen=True)
class StorageProgressEnterDir(_TransferEvent):
    """A recursive transfer enters the directory ``src`` (to ``dst``)."""


@dataclass(frozen=True)
class StorageProgressLeaveDir(_TransferEvent):
    """A recursive transfer leaves the directory ``src`` (to ``dst``); all
    files in it are done."""


@dataclass(frozen=True)
class StorageProgressFail(_TransferEvent):
    """An entry ``src`` could not be transferred to ``dst`` (for example a
    special file).

    :ivar message: explanation message for the error, ``str``.
    """

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
    Each method receives the event's data.
    """

    @abc.abstractmethod
    def start(self, data: StorageProgressStart) -> None:
        """Called when transmission of the file starts."""

    @abc.abstractmethod
    def step(self, data: StorageProgressStep) -> None:
        """Called when transmission of the file progresses (more bytes are
        transmitted)."""

    @abc.abstractmethod
    def complete(self, data: StorageProgressComplete) -> None:
        """Called when transmission of the file completes."""


class AbstractRecursiveFileProgress(AbstractFileProgress):
    """Base class for recursive upload/download progress.

    Inherit from it and override the abstract methods to get progress info
    from :meth:`Storage.upload_dir` and :meth:`Storage.download_dir`.
    Each method receives the event's data.
    """

    @abc.abstractmethod
    def enter(self, data: StorageProgressEnterDir) -> None:
        """Called when recursive process enters directory."""

    @abc.abstractmethod
    def leave(self, data: StorageProgressLeaveDir) -> None:
        """Called when recursive process leaves directory. All files in that
        directory are now transmitted."""

    @abc.abstractmethod
    def fail(self, data: StorageProgressFail) -> None:
        """Called when recursive process fails for an entry, for example a
        special file (like block device file). Check ``data.message`` to get
        error details."""


class AbstractDeleteProgress(abc.ABC):
    """Base class for file/directory delete progress.

    Inherit from it and override :meth:`delete` to get progress info from
    :meth:`Storage.rm` calls.
    """

    @abc.abstractmethod
    def delete(self, data: StorageProgressDelete) -> None:
        """Called when single item (either file or directory) was deleted.
        Directory removal happens after removal of all files and
        subdirectories it contains."""
