"""PLACEHOLDER so that the package imports; the WebDAV developer replaces
this module with the real backend (implementing the primitives of
cerulean.file_system_impl.FileSystemImpl)."""
from __future__ import annotations

from cerulean.credential import Credential
from cerulean.file_system_impl import FileSystemImpl


class WebdavFileSystem(FileSystemImpl):
    """A FileSystem implementation that connects to a WebDAV server.

    Not implemented yet: constructing one raises NotImplementedError.
    """

    def __init__(self, url: str, credential: Credential | None = None,
                 host_ca_cert_file: str | None = None,
                 unsupported_methods_raise: bool | None = True) -> None:
        raise NotImplementedError("WebdavFileSystem is being written")
