"""Split ``host``, ``host:port`` and ``[v6addr]:port`` addresses."""
from __future__ import annotations


def split_host_port(address: str) -> tuple[str, str] | None:
    """``(host, port text)`` of ``address``; the port text is "" if absent.

    A host with more than one ``:`` and no brackets is an IPv6 address
    without a port.

    :returns: The parts, or None if ``address`` is malformed: a ``[``
        without its ``]``, or anything but ``:port`` after the ``]``.
    """
    if address.startswith("["):
        host, sep, rest = address[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        return host, rest[1:]
    if address.count(":") == 1:
        host, port_text = address.split(":")
        return host, port_text
    return address, ""
