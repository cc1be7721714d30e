"""Pure parts of the shared shells: reading reports, choosing commands."""
from __future__ import annotations

import pytest

from cerulean._ssh.shells import _Reports, suits

JOB = "0123456789abcdef"


def feed_in_pieces(data: bytes, size: int) -> _Reports:
    reports = _Reports(JOB)
    for start in range(0, len(data), size):
        reports.feed(data[start:start + size])
    return reports


@pytest.mark.parametrize("size", [1, 2, 7, 17, 1000])
def test_reports_are_taken_out_wherever_chunks_split_them(size: int) -> None:
    # The pgid report may land in the middle of a line the command wrote.
    stream = (f"{JOB}<\nwarn: par{JOB}:4242\ntial line\n"
              f"{JOB[:5]} is not a report\n{JOB}>\n").encode()
    reports = feed_in_pieces(stream, size)
    assert reports.value() == f"warn: partial line\n{JOB[:5]} is not a report\n".encode()
    assert reports.reports == ["<", ":4242", ">"]
    assert reports.find(":") == "4242"
    assert reports.find("=") is None


def test_output_without_newline_before_the_end_report() -> None:
    reports = feed_in_pieces(f"no newline{JOB}=3\n".encode(), 4)
    assert (reports.value(), reports.find("=")) == (b"no newline", "3")


def test_unfinished_report_is_not_output_until_complete() -> None:
    reports = _Reports(JOB)
    reports.feed(f"out{JOB}=1".encode())
    assert reports.find("=") is None
    reports.feed(b"27+\n")
    assert (reports.value(), reports.find("=")) == (b"out", "127+")


@pytest.mark.parametrize("line, ok", [
    ("squeue --me", True),
    ("true && echo ok", True),
    ("echo x 2>&1 >&2 | cat", True),
    ("make &> log", True),
    ("cmd |& tee log", True),
    ("sleep 10 &", False),
    ("a & b", False),
    ("nohup srv >log 2>&1 &", False),
    ("echo 'a&b'", False),  # may be a string; a session of its own is safe
    ("printf 'a\\0b'", True),
    ("printf a\0b", False),
    ("echo " + "x" * 4091, True),
    ("echo " + "x" * 4092, False),  # long lines go faster in a session
])
def test_which_commands_go_to_a_shared_shell(line: str, ok: bool) -> None:
    assert suits(line) is ok
