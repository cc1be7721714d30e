"""WebDAV PROPFIND: the request body and the parsing of its answer.

Everything the server sends is parsed with :mod:`defusedxml`, which refuses
entity expansion and external references, so that a hostile or broken
server cannot make the client expand a "billion laughs" document or read
local files.

Only the three properties Cerulean needs are asked for (resource type,
length, modification time): asking for everything (``allprop``) makes a
server like wsgidav compute quota and lock information for every entry,
which more than doubles the time a 500-entry listing takes.
"""
from __future__ import annotations

import email.utils
import errno
import functools
from typing import NamedTuple
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

_DAV = "{DAV:}"

PROPFIND_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<D:propfind xmlns:D="DAV:"><D:prop>'
    b"<D:resourcetype/><D:getcontentlength/><D:getlastmodified/>"
    b"</D:prop></D:propfind>")
"""The PROPFIND request body: just type, size and modification time."""


class DavResource(NamedTuple):
    """One ``<response>`` of a multistatus answer.

    Attributes:
        path: The percent-decoded path part of the ``href``, without a
            trailing slash (``/private/dir/a b``).
        status: The HTTP status of the resource itself (200 normally; a
            server may report a member it cannot describe as 403 or 404).
        is_collection: Whether the resource type is a collection.
        size: ``getcontentlength``, or 0 if the server sent none (as for
            collections).
        mtime: ``getlastmodified`` in seconds since the epoch (whole
            seconds: HTTP dates have no fractions), or 0.0 if absent.
    """

    path: str
    status: int
    is_collection: bool
    size: int
    mtime: float


def decode_href(href: str) -> str:
    """The decoded path of an ``href`` (absolute URL or absolute path).

    Undecodable bytes are kept as surrogates, so that quoting the name
    again with ``errors="surrogateescape"`` gives back the server's bytes.
    """
    path = unquote(urlsplit(href).path, errors="surrogateescape")
    return path.rstrip("/") or "/"


def _status_code(status_line: str | None) -> int | None:
    """200 from ``HTTP/1.1 200 OK``; None if there is no usable line."""
    if not status_line:
        return None
    fields = status_line.split()
    if len(fields) >= 2 and fields[1].isdigit():
        return int(fields[1])
    return None


@functools.lru_cache(maxsize=4096)
def parse_http_date(text: str) -> float:
    """Seconds since the epoch of an RFC 1123 date, 0.0 if unreadable.

    Cached because the entries of one listing mostly share a few dates,
    and parsing a date costs more than everything else about an entry.
    """
    parsed = email.utils.parsedate_tz(text)
    if parsed is None:
        return 0.0
    return float(email.utils.mktime_tz(parsed))


def _resource(response: Element) -> DavResource | None:
    href = response.findtext(_DAV + "href")
    if href is None:
        return None
    # A <status> directly in <response> describes the whole resource.
    status = _status_code(response.findtext(_DAV + "status")) or 200
    is_collection = False
    size = 0
    mtime = 0.0
    for propstat in response.iterfind(_DAV + "propstat"):
        code = _status_code(propstat.findtext(_DAV + "status"))
        if code is None or not 200 <= code < 300:
            continue  # e.g. "404" for getcontentlength of a collection
        prop = propstat.find(_DAV + "prop")
        if prop is None:
            continue
        for item in prop:
            if item.tag == _DAV + "resourcetype":
                is_collection = item.find(_DAV + "collection") is not None
            elif item.tag == _DAV + "getcontentlength" and item.text:
                try:
                    size = int(item.text.strip())
                except ValueError:
                    size = 0
            elif item.tag == _DAV + "getlastmodified" and item.text:
                mtime = parse_http_date(item.text.strip())
    return DavResource(decode_href(href.strip()), status, is_collection,
                       size, mtime)


def parse_multistatus(content: bytes, url: str) -> list[DavResource]:
    """The resources described by a 207 Multi-Status answer.

    :param content: The response body.
    :param url: The request URL, for error messages.
    :raises OSError: (EPROTO) if the body is not a multistatus document or
        uses XML features that defusedxml refuses.
    """
    try:
        root = SafeET.fromstring(content)
    except DefusedXmlException as error:
        raise OSError(errno.EPROTO, f"PROPFIND {url}: the server's answer"
                      f" uses forbidden XML features ({error})") from error
    except SafeET.ParseError as error:
        raise OSError(errno.EPROTO, f"PROPFIND {url}: the server's answer"
                      f" is not well-formed XML ({error})") from error
    if root.tag != _DAV + "multistatus":
        raise OSError(errno.EPROTO, f"PROPFIND {url}: expected a DAV:"
                      f" multistatus document, got {root.tag}")
    resources = []
    for response in root.iterfind(_DAV + "response"):
        resource = _resource(response)
        if resource is not None:
            resources.append(resource)
    return resources
