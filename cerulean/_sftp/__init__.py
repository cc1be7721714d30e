"""SFTP version 3 spoken directly on a channel of the terminal's connection.

``protocol`` (messages, packing, parsing), ``channel`` (one session with
many requests in flight, and the single requests), ``pool`` (sessions lent
to one thread at a time, reconnecting), ``streams`` (one file: reads ahead,
writes unacknowledged, its finish, a copy on the server) and ``batches``
(many small files or directory listings in flight).
:class:`cerulean.SftpFileSystem` puts these together behind the file
system primitives.
"""
