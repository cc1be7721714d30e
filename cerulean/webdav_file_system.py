"""PLACEHOLDER so that the package imports; the WebDAV developer replaces
this module with the real backend (implementing the primitives of
cerulean.file_system_impl.FileSystemImpl)."""
from __future__ import annotations

from typing import Optional

from cerulean.credential import Credential
from cerulean.file_system_impl import FileSystemImpl


class WebdavFileSystem(FileSystemImpl):
    """A FileSystem implementation that connects to a WebDAV server.

    Not implemented yet: constructing one raises NotImplementedError.
    """

    def __init__(self, url: str, credential: Optional[Credential] = None,
                 host_ca_cert_file: Optional[str] = None,
                 unsupported_methods_raise: Optional[bool] = True) -> None:
        raise NotImplementedError("WebdavFileSystem is being written")
