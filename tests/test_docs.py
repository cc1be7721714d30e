"""Every example in the documentation runs here, so the docs cannot rot.

What is checked, for ``docs/**/*.rst`` and ``README.md``:

* Python examples (``.. code-block:: python``; fenced ```` ```python ````
  blocks in the README) are executed, each in a fresh namespace, as a
  script (``__name__ == "__main__"``). A line ``print(...)  # text`` says
  what it prints: the parts of ``text`` between ``...`` must appear in the
  output, in order.
* TOML examples (``.. code-block:: toml`` and every ``.toml`` file pulled
  in with ``literalinclude``) must be valid cluster configurations:
  :func:`neuro_compat.config.parse_clusters` accepts them.
* Shell examples (``.. code-block:: console``): each ``make`` target is one
  the Makefile has; each ``python -m bench.run`` uses options ``bench/run.py``
  has, and its ``--only`` picks at least one benchmark case; each ``pip
  install`` extra is one setup.cfg has. (They are not run: they install
  packages or take minutes.)
* The benchmark cases that ``docs/performance.rst`` describes exist (and
  a warning names the cases it does not describe).
* The configuration reference (``docs/neuro_config.rst``) documents exactly
  the keys ``neuro_compat/config/__init__.py`` accepts, table by table.
* No example hides where this test cannot see it: a plain ``::`` literal
  block or a ``.. code::`` directive in the docs fails the test.
* The API reference documents every public name of both packages.

How an example runs
-------------------
Its working directory is a fresh temporary directory; ``HOME`` is another
one, whose ``~/.ssh/known_hosts`` holds the test sshd's host keys; the
variables ``XDG_DATA_HOME``, ``NEUROMATION_CONFIG`` and ``SSH_AUTH_SOCK`` are
unset, so neuro_compat's embedded local default keeps its storage and jobs
in that ``HOME``. ``DAV_PASSWORD`` is the test WebDAV password,
``CLUSTER_TOTP_SECRET`` the one-time-code sshd's TOTP secret.

An rST comment right before a code block tunes it (it is not rendered)::

    .. test: servers=ssh,slurm uses=hpc-config setup=client name=x file=PATH

``servers``
    the real test servers the example needs (``ssh``, ``ssh-otp``,
    ``slurm``, ``torque``, ``sge``, ``webdav``); the test carries
    ``real_server(...)`` for them, and the example is rewritten with
    :data:`SUBSTITUTIONS`. An ``ssh-otp`` example waits for its turn and
    for a one-time code that no login has used yet.
``setup``
    run the example inside the named set-up, so that a fragment can use
    ``await client...``: the Python block of the same file marked
    ``name=NAME``, whose line ``...  # <comment>`` is where the fragment
    goes (readers see that block, and it also runs by itself).
``name`` and ``file``
    give a block a name; on a non-Python block, ``file`` is the path
    (``~/...`` in the fake ``HOME``, else relative to the working
    directory) that ``uses`` saves it to.
``uses``
    on a Python block: save the named block(s) (comma-separated) to their
    ``file`` first.

Substitutions
-------------
Examples that need a cluster are written for a made-up one: host
``cluster.example.org`` port 22, user ``alice`` with home ``/home/alice`` and
key ``~/.ssh/id_ed25519``, WebDAV at ``https://dav.example.org/alice``. Before
running, :data:`SUBSTITUTIONS` points them at the test servers: the sshd on
127.0.0.1:10022 as user ``cerulean`` with the test RSA key, a fresh
directory in its home standing for ``/home/alice`` (it holds an
``input.txt`` of three lines; local and remote are the same machine here),
and a fresh collection on the private WebDAV share.
A rewritten example must not mention any of :data:`MADE_UP` any more.
"""
from __future__ import annotations

import ast
import configparser
import logging
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import uuid
import warnings
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import cerulean
import neuro_compat
from neuro_compat.config import parse_clusters
from tests.cerulean.terminal_helpers import otp_login_turn
from tests.conftest import ssh_scratch
from tests.servers import settings as S

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
README = REPO / "README.md"
RST_FILES = sorted(p for p in DOCS.rglob("*.rst") if "_build" not in p.parts)

SERVERS = ("ssh", "ssh-otp", "slurm", "torque", "sge", "webdav")
"""Values of the ``servers`` option."""

SUBSTITUTIONS = (
    # The made-up cluster's two-factor login node: the one-time-code sshd.
    ("'2fa.cluster.example.org', 22", f"'{S.HOST}', {S.OTP_SSH_PORT}"),
    ("~/.ssh/id_ed25519", str(S.RSA_KEY)),
    ("/home/alice/.ssh/id_ed25519", str(S.RSA_KEY)),
    ("cluster.example.org:22", f"{S.HOST}:{S.SSH_PORT}"),
    ("'cluster.example.org', 22", f"'{S.HOST}', {S.SSH_PORT}"),
    ('"cluster.example.org", 22', f'"{S.HOST}", {S.SSH_PORT}'),
    ('host = "cluster.example.org"', f'host = "{S.HOST}"'),
    ("port = 22\n", f"port = {S.SSH_PORT}\n"),
    ("HostName cluster.example.org", f"HostName {S.HOST}"),
    ("Port 22\n", f"Port {S.SSH_PORT}\n"),
    ("https://dav.example.org/alice", "{webdav}"),
    # The made-up cluster's Grid Engine settings: the test one's.
    ("'. /opt/sge/default/common/settings.sh; '", repr(S.SGE_PREFIX)),
    ("/home/alice", "{scratch}"),
    ("'home' / 'alice'", "'home' / 'cerulean' / '{scratch_name}'"),
    ('"home" / "alice"', '"home" / "cerulean" / "{scratch_name}"'),
    ("alice", S.USER),
)
"""What examples written for the made-up cluster become (see above)."""

INPUT_TXT = "one\ntwo\nthree\n"
"""The content of ``input.txt`` in the directory standing for /home/alice."""


# --- Finding the examples ------------------------------------------------------

@dataclass
class Block:
    """A code block of the documentation.

    :ivar source: the file it is in.
    :ivar line: the line of its first line of code.
    :ivar lang: its language.
    :ivar code: the code, dedented.
    :ivar options: the options of the ``.. test:`` comment before it.
    """

    source: Path
    line: int
    lang: str
    code: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """``file:line``, for test ids and tracebacks."""
        return f"{self.source.relative_to(REPO)}:{self.line}"

    @property
    def servers(self) -> list[str]:
        """The real servers this block needs."""
        return [s for s in self.options.get("servers", "").split(",") if s]


@dataclass
class RstFile:
    """What this test reads from one .rst file.

    :ivar blocks: its code blocks, in order.
    :ivar includes: the files it pulls in with ``literalinclude``.
    :ivar untested: lines holding literal blocks this test cannot see.
    """

    blocks: list[Block] = field(default_factory=list)
    includes: list[Path] = field(default_factory=list)
    untested: list[str] = field(default_factory=list)


_CODE_BLOCK = re.compile(r"^(\s*)\.\. code-block::\s*(\S+)\s*$")
_TEST = re.compile(r"^\s*\.\. test:\s*(.*?)\s*$")
_INCLUDE = re.compile(r"^\s*\.\. literalinclude::\s*(\S+)\s*$")
_OTHER_CODE = re.compile(r"^\s*\.\. (code|sourcecode|highlight|doctest|testcode)::")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _body(lines: list[str], start: int, indent: int) -> tuple[list[str], int, int]:
    """The indented body of a directive whose first line is ``start - 1``.

    Skips the directive's ``:option:`` lines. Returns the body's lines
    (dedented), the index of its first line and the index after it.
    """
    i = start
    while i < len(lines) and lines[i].strip().startswith(":") and \
            _indent(lines[i]) > indent:
        i += 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    first = i
    while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
        i += 1
    body = textwrap.dedent("\n".join(lines[first:i])).strip("\n")
    return body.split("\n"), first, i


def _options(text: str, where: str) -> dict[str, str]:
    options = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if not sep or key not in ("servers", "setup", "name", "file", "uses"):
            raise ValueError(f"{where}: bad option {item!r} in a '.. test:' comment")
        options[key] = value
    for server in options.get("servers", "").split(","):
        if server and server not in SERVERS:
            raise ValueError(f"{where}: unknown server {server!r}")
    return options


def read_rst(path: Path) -> RstFile:
    """The code blocks, includes and stray literal blocks of a file."""
    lines = path.read_text(encoding="utf-8").split("\n")
    found = RstFile()
    pending: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        where = f"{path.relative_to(REPO)}:{i + 1}"
        if m := _TEST.match(line):
            pending = _options(m.group(1), where)
            i += 1
        elif m := _CODE_BLOCK.match(line):
            body, first, i = _body(lines, i + 1, len(m.group(1)))
            found.blocks.append(Block(path, first + 1, m.group(2), "\n".join(body) + "\n",
                                      pending))
            pending = {}
        else:
            if m := _INCLUDE.match(line):
                found.includes.append((path.parent / m.group(1)).resolve())
            elif _OTHER_CODE.match(line) or (line.rstrip().endswith("::")
                                             and not line.lstrip().startswith(".. ")):
                found.untested.append(f"{where}: {line.strip()}")
            i += 1
    return found


def read_readme() -> list[Block]:
    """The fenced ```python blocks of the README."""
    blocks = []
    lines = README.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            end = lines.index("```", i + 1)
            code = "\n".join(lines[i + 1:end]) + "\n"
            blocks.append(Block(README, i + 2, "python", code, _readme_options(code)))
            i = end
        i += 1
    return blocks


def _readme_options(code: str) -> dict[str, str]:
    """The README has no test comments: its servers follow from the code."""
    if not _made_up(code):
        return {}
    servers = ["ssh"] + [s for s in ("slurm", "torque") if s in code.lower()]
    return {"servers": ",".join(servers)}


DOC_FILES = {path: read_rst(path) for path in RST_FILES}
BLOCKS = [b for f in DOC_FILES.values() for b in f.blocks]


def _params(lang: str) -> list[Any]:
    return [pytest.param(b, id=b.where, marks=[pytest.mark.real_server(*b.servers)]
                         if b.servers else [])
            for b in BLOCKS if b.lang == lang]


# --- The environment examples run in --------------------------------------------

@pytest.fixture
def example_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh working directory and HOME (see the module documentation)."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    if S.KNOWN_HOSTS.exists():
        shutil.copy(S.KNOWN_HOSTS, home / ".ssh" / "known_hosts")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_DATA_HOME", "NEUROMATION_CONFIG", "SSH_AUTH_SOCK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAV_PASSWORD", S.PASSWORD)
    monkeypatch.setenv("CLUSTER_TOTP_SECRET", S.OTP_SECRET_BASE32)
    monkeypatch.chdir(work)
    # Examples may configure logging; leave it as it was.
    level, handlers = cerulean.logger.level, list(logging.root.handlers)
    try:
        yield home
    finally:
        cerulean.logger.setLevel(level)
        logging.root.handlers[:] = handlers


@contextmanager
def remote_scratch() -> Iterator[str]:
    """A fresh directory in the test user's home, holding input.txt."""
    with ssh_scratch() as (term, scratch):
        code, _, err = term.run(10.0, "cat", [">", shlex.quote(f"{scratch}/input.txt")],
                                INPUT_TXT)
        assert code == 0, err
        yield scratch


@contextmanager
def webdav_scratch() -> Iterator[str]:
    """The URL of a fresh collection on the private WebDAV share."""
    name = f"docs-{uuid.uuid4().hex[:12]}"
    with cerulean.WebdavFileSystem(S.WEBDAV_PRIVATE_URL, cerulean.PasswordCredential(
            S.USER, S.PASSWORD)) as fs:
        (fs / name).mkdir()
    try:
        yield f"{S.WEBDAV_PRIVATE_URL}/{name}"
    finally:
        shutil.rmtree(S.WEBDAV_PRIVATE_DIR / name, ignore_errors=True)


MADE_UP = ("cluster.example.org", "dav.example.org", "alice")
"""Names of the made-up cluster that only :data:`SUBSTITUTIONS` makes real."""


def _made_up(code: str) -> bool:
    return any(name in code for name in MADE_UP)


def substitute(code: str, values: dict[str, str]) -> str:
    """Point an example written for the made-up cluster at the test servers."""
    for old, new in SUBSTITUTIONS:
        code = code.replace(old, new.format(**values))
    assert not _made_up(code), (
        "the example names the made-up cluster in a way SUBSTITUTIONS does not cover:\n"
        + code)
    return code


@contextmanager
def server_values(block: Block) -> Iterator[dict[str, str] | None]:
    """The substitution values for a block that needs servers, else None."""
    if not block.servers:
        yield None
        return
    with ExitStack() as stack:
        values = {"scratch": "/nonexistent", "scratch_name": "nonexistent",
                  "webdav": "http://127.0.0.1:1/nonexistent"}
        if "ssh" in block.servers:
            scratch = stack.enter_context(remote_scratch())
            values.update(scratch=scratch, scratch_name=posixpath.basename(scratch))
        if "webdav" in block.servers:
            values["webdav"] = stack.enter_context(webdav_scratch())
        yield values


def _check_made_up_names(block: Block) -> None:
    if not block.servers and _made_up(block.code):
        pytest.fail(f"{block.where} names the made-up cluster but has no "
                    "'.. test: servers=...' comment, so it cannot run")


def _save_used_blocks(block: Block, home: Path, values: dict[str, str] | None) -> None:
    for name in filter(None, block.options.get("uses", "").split(",")):
        provider = [b for b in DOC_FILES[block.source].blocks
                    if b.options.get("name") == name]
        assert len(provider) == 1, f"{block.where}: uses={name}, which names no block"
        text = provider[0].code
        text = substitute(text, values) if values is not None else text
        file = provider[0].options["file"]
        path = home / file[2:] if file.startswith("~/") else Path(file)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _with_setup(block: Block) -> tuple[str, int]:
    """The code to run (inside its set-up, if any) and its first line number."""
    name = block.options.get("setup")
    if name is None:
        return block.code, block.line
    named = [b.code for b in DOC_FILES[block.source].blocks
             if b.lang == "python" and b.options.get("name") == name]
    assert named, f"{block.where}: setup={name}, but no Python block has name={name}"
    out = []
    for line in named[0].split("\n"):
        if line.strip().startswith("...  #"):
            out.append(textwrap.indent(block.code, line[:_indent(line)]))
        else:
            out.append(line)
    return "\n".join(out) + "\n", 1


_PRINT_COMMENT = re.compile(r"^\s*print\(.*\)\s+# (.*)$")


def expected_output(code: str) -> list[list[str]]:
    """What the example's ``print(...)  # text`` lines say they print.

    ``...`` in the comment stands for anything; the other parts must appear
    in the output, in order.
    """
    return [[part.strip() for part in m.group(1).split("...") if part.strip()]
            for m in map(_PRINT_COMMENT.match, code.splitlines()) if m]


def _check_output(block: Block, output: str) -> None:
    position = 0
    for parts in expected_output(block.code):
        for part in parts:
            found = output.find(part, position)
            assert found >= 0, (f"{block.where}: the comment says the output has {part!r} "
                                f"(after what came before), but it was:\n{output}")
            position = found + len(part)


def run_python(block: Block, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Execute a Python example as a script; check what it says it prints."""
    _check_made_up_names(block)
    code, line = _with_setup(block)
    otp_turn = otp_login_turn() if "ssh-otp" in block.servers else nullcontext()
    with otp_turn, server_values(block) as values:
        _save_used_blocks(block, home, values)
        if values is not None:
            code = substitute(code, values)
        # Padding makes tracebacks show the line numbers of the .rst file.
        compiled = compile("\n" * (line - 1) + code, str(block.source), "exec")
        exec(compiled, {"__name__": "__main__"})  # noqa: S102 - running the example is the test
    output = capsys.readouterr().out
    sys.stdout.write(output)  # shown by pytest -s, and for a failure
    _check_output(block, output)


# --- The tests ---------------------------------------------------------------------

@pytest.mark.timeout(180)
@pytest.mark.parametrize("block", _params("python"))
def test_python_example(block: Block, example_env: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    run_python(block, example_env, capsys)


def _readme_params() -> list[Any]:
    return [pytest.param(b, id=b.where, marks=[pytest.mark.real_server(*b.servers)]
                         if b.servers else [])
            for b in read_readme()]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("block", _readme_params())
def test_readme_example(block: Block, example_env: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    run_python(block, example_env, capsys)


@pytest.mark.parametrize("block", _params("toml"))
def test_toml_example(block: Block, example_env: Path) -> None:
    parse_clusters(block.code, block.source)


def test_included_toml_files(example_env: Path) -> None:
    included = [p for f in DOC_FILES.values() for p in f.includes if p.suffix == ".toml"]
    assert included, "the docs include no example cluster file"
    for path in included:
        parse_clusters(path.read_text(), path)


def _makefile_targets() -> set[str]:
    text = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*):", text, re.MULTILINE))


def _bench_options() -> set[str]:
    return set(re.findall(r'add_argument\("(--[\w-]+)"', (REPO / "bench" / "run.py").read_text()))


def _check_bench(words: list[str], where: str) -> None:
    from bench.run import load_cases

    options = _bench_options()
    for i, word in enumerate(words):
        if word.startswith("--"):
            assert word.split("=")[0] in options, f"{where}: bench.run has no option {word}"
        if word == "--only":
            assert load_cases(words[i + 1]), f"{where}: --only {words[i + 1]} picks no case"


def _check_command(line: str, where: str) -> None:
    words = shlex.split(line)
    if words[0] == "make":
        for word in words[1:]:
            if "=" in word:
                name, _, value = word.partition("=")
                if name == "BENCH_ARGS":
                    _check_bench(shlex.split(value), where)
            else:
                assert word in _makefile_targets(), f"{where}: no make target {word}"
    elif "bench.run" in words:
        _check_bench(words[words.index("bench.run") + 1:], where)
    elif "install" in words and any("[" in w for w in words):
        config = configparser.ConfigParser()
        config.read(REPO / "setup.cfg")
        extras = set(config["options.extras_require"])
        for word in words:
            if "[" in word:
                wanted = word[word.index("[") + 1:word.index("]")].split(",")
                assert set(wanted) <= extras, f"{where}: setup.cfg has no extra {wanted}"


@pytest.mark.parametrize("block", _params("console"))
def test_console_example(block: Block) -> None:
    commands = [line[2:] for line in block.code.splitlines() if line.startswith("$ ")]
    assert commands, f"{block.where}: a console block shows commands as '$ command'"
    for command in commands:
        _check_command(command, block.where)


def test_every_code_block_is_checked() -> None:
    untested = [u for f in DOC_FILES.values() for u in f.untested]
    assert not untested, ("literal blocks this test does not run; use "
                          "'.. code-block:: <language>':\n" + "\n".join(untested))
    checked = {"python", "toml", "console", "text"}
    other = [f"{b.where}: {b.lang}" for b in BLOCKS if b.lang not in checked]
    assert not other, "code blocks in a language this test does not check:\n" + \
        "\n".join(other)
    texts = [b for b in BLOCKS if b.lang == "text" and "name" not in b.options]
    assert not texts, ("text blocks are for output and files that examples use; give "
                       "each a name=... option: " + ", ".join(b.where for b in texts))


def test_benchmark_cases_named_in_the_docs_exist() -> None:
    from bench.run import load_cases

    keys = {case.key for case in load_cases(None)}
    named = set(re.findall(r"``([a-z_]+:[a-z_0-9]+)``", (DOCS / "performance.rst").read_text()))
    assert named, "docs/performance.rst names no benchmark case"
    assert sorted(named - keys) == [], "cases the docs describe but bench/ does not have"
    if keys - named:
        warnings.warn(f"docs/performance.rst does not describe the benchmark cases "
                      f"{', '.join(sorted(keys - named))}", stacklevel=1)


# --- The configuration reference -----------------------------------------------

_TABLES = {
    "Top level": ["parse_clusters"],
    "[clusters.<name>]": ["_parse_cluster"],
    "[clusters.<name>.terminal]": ["_parse_terminal"],
    "[clusters.<name>.storage]": ["_parse_storage"],
    "[clusters.<name>.scheduler]": ["_parse_scheduler"],
    "[clusters.<name>.presets.<preset>]": ["_parse_preset"],
}


def _accepted_keys() -> dict[str, set[str]]:
    """Per table, the keys config/__init__.py accepts: the arguments of its only() calls."""
    tree = ast.parse((REPO / "neuro_compat" / "config" / "__init__.py").read_text())
    functions = {node.name: node for node in ast.walk(tree)
                 if isinstance(node, ast.FunctionDef)}
    keys = {}
    for table, names in _TABLES.items():
        found: set[str] = set()
        for name in names:
            for node in ast.walk(functions[name]):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "only"):
                    found |= {a.value for a in node.args if isinstance(a, ast.Constant)}
        keys[table] = found
    return keys


def _documented_keys() -> dict[str, set[str]]:
    """Per table section of docs/neuro_config.rst, the keys it defines."""
    lines = (DOCS / "neuro_config.rst").read_text().split("\n")
    keys: dict[str, set[str]] = {}
    table = None
    for i, line in enumerate(lines):
        underline = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and re.fullmatch(r"[-~^]{3,}", underline.strip()):
            title = line.strip().strip("`")
            table = title if title in _TABLES else None
            if table is not None:
                keys[table] = set()
        elif table is not None and (m := re.match(r"^``([a-z_]+)``", line)):
            keys[table].add(m.group(1))
    return keys


def test_configuration_reference_lists_every_key() -> None:
    assert _documented_keys() == _accepted_keys()


# --- The API reference -----------------------------------------------------------

def _inventory_names(path: Path) -> set[str]:
    """The object names in a Sphinx objects.inv (version 2: four header
    lines, then zlib-compressed lines ``name domain:role priority uri text``)."""
    data = path.read_bytes()
    header = b"\n".join(data.split(b"\n", 4)[:4]) + b"\n"
    assert header.startswith(b"# Sphinx inventory version 2"), header
    lines = zlib.decompress(data[len(header):]).decode().splitlines()
    return {line.split(" ", 1)[0] for line in lines}


def _fresh_inventory() -> Path | None:
    """``make docs``'s objects.inv, if it is newer than every source of it."""
    inventory = DOCS / "_build" / "html" / "objects.inv"
    if not inventory.exists():
        return None
    sources = [*DOCS.glob("**/*.rst"), DOCS / "conf.py", *(REPO / "cerulean").glob("*.py"),
               *(REPO / "neuro_compat").glob("**/*.py")]
    newest = max(p.stat().st_mtime for p in sources)
    return inventory if inventory.stat().st_mtime >= newest else None


def test_api_reference_documents_every_public_name(tmp_path: Path) -> None:
    # `make test` has just run `make docs`; build here only if that is stale
    # (the build takes a quarter of a minute).
    inventory = _fresh_inventory()
    if inventory is None:
        subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(DOCS),
                        str(tmp_path)], check=True, timeout=300, capture_output=True)
        inventory = tmp_path / "objects.inv"
    documented = _inventory_names(inventory)
    wanted = {f"cerulean.{n}" for n in cerulean.__all__ if not n.startswith("__")}
    wanted |= {f"neuro_compat.{n}" for n in neuro_compat.__all__}
    wanted |= {"cerulean.path", "cerulean.terminal", "cerulean.ssh_terminal",
               "cerulean.local_terminal", "cerulean.file_system",
               "cerulean.file_system_impl", "cerulean.credential", "cerulean.scheduler",
               "cerulean.job_description", "cerulean.job_status", "neuro_compat.config"}
    assert sorted(wanted - documented) == []
