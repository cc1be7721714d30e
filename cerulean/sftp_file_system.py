"""A file system reached over SFTP, on the connection of an SshTerminal."""
from __future__ import annotations

from typing import TYPE_CHECKING

from cerulean.file_system_impl import FileSystemImpl

if TYPE_CHECKING:
    from cerulean.ssh_terminal import SshTerminal


class SftpFileSystem(FileSystemImpl):  # provisional: being fleshed out
    """A FileSystem implementation that connects to an SFTP server.

    :param terminal: The terminal to connect through.
    :param own_term: Whether to close the terminal when the file system is
        closed.
    """

    def __init__(self, terminal: SshTerminal, own_term: bool = False) -> None:
        self._terminal = terminal
        self._own_term = own_term
