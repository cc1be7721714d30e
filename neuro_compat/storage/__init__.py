"""The Storage subsystem, ``Client.storage``: neuro_sdk's Storage API on a
cluster's file system (local, SFTP or WebDAV), below its storage root.

Interrupted uploads and downloads
---------------------------------
Files up to 1 MiB in ``upload_dir``/``download_dir`` land whole or not at
all. Every other file is written front to back in place, so a transfer that
is interrupted (cancelled, connection lost) leaves a prefix of the file at
the destination; run the same call with ``continue_=True`` and the rest is
appended, byte-exactly (the partial file is newer than the source, which is
what ``continue_`` looks for). ``create()`` lands its file whole or not at
all.

WebDAV storage cannot write at an offset: ``write()`` raises
:class:`NotSupportedError` there, ``continue_`` uploads the whole file
again, and ``disk_usage()`` is not available.

Where things are
----------------
``api``
    :class:`Storage`, the asynchronous face of it all.
``ops``
    The blocking operations on single paths (stat, list, mkdir, rm, mv,
    read, write), with neuro_sdk's errors naming the URI.
``transfer``
    ``upload_file``, ``download_file``, ``upload_dir``, ``download_dir``.
``filters``
    ``glob`` patterns, ignore files and the ``filter`` chain.
``glob``
    The walk of a ``glob`` pattern over the remote tree.
``progress``, ``types``
    neuro_sdk's progress events and classes; :class:`FileStatus` and the
    other dataclasses of storage entries.

Below them, per cluster session (:mod:`neuro_compat._cluster`): the
storage root that confines every path, and the backend it works through.
Storage URIs themselves are read by :mod:`neuro_compat._uri`.
"""
from .api import Storage

# The dataclasses, enums and progress classes are exported by neuro_compat
# itself, from .types and .progress.
__all__ = ["Storage"]
