"""SFTP version 3 spoken directly on a channel of the terminal's connection.

``protocol`` (messages, packing, parsing), ``channel`` (one session with
many requests in flight, and the single requests), ``streams`` (one file,
reads ahead and writes unacknowledged) and ``batches`` (many small files or
directory listings in flight). :class:`cerulean.SftpFileSystem` puts these
together behind the file system primitives.
"""
