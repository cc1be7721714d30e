"""What WebdavFileSystem is made of.

``xml`` (PROPFIND bodies and multistatus replies, parsed through
defusedxml) and ``http`` (requests on a pooled session, and the mapping of
HTTP statuses to the errors the file system primitives raise).
"""
