"""Small helpers shared by the public classes: construction guard, sentinels,
the awaitable context manager that ``get()`` returns, and the ``async with
... as it: async for x in it`` object that neuro_sdk's listing calls return."""
from __future__ import annotations

import functools
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
)
from types import TracebackType
from typing import (
    Any,
    Generic,
    TypeVar,
)

from typing_extensions import ParamSpec, Self

_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)
_P = ParamSpec("_P")


class NoPublicConstructor(type):
    """Metaclass of classes only the package creates (Client, Storage, ...).

    Calling the class raises ``TypeError``, as in neuro_sdk; the package
    builds instances with ``Class._create(...)``.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{cls.__name__} has no public constructor; "
                        "use neuro_compat.get() or Factory().get()")

    def _create(cls: type[_T], *args: Any, **kwargs: Any) -> _T:
        # type.__call__ is what calling the class would do without the guard.
        return type.__call__(cls, *args, **kwargs)  # type: ignore[no-any-return]


class _Unset:
    """Marker for "argument not given" where None is a meaningful value."""

    def __repr__(self) -> str:
        return "<unset>"


UNSET: Any = _Unset()
"""Default of ``org_name`` parameters: use the configuration's org."""


class AwaitableContextManager(Awaitable[_T], Generic[_T]):
    """Wraps a coroutine returning a closable object.

    Works both as ``obj = await cm`` and as ``async with cm as obj``; in the
    second form the object's ``close()`` coroutine runs on exit.
    """

    __slots__ = ("_coro", "_ret")

    def __init__(self, coro: Coroutine[Any, Any, _T]) -> None:
        self._coro = coro
        self._ret: _T | None = None

    def __await__(self) -> Generator[Any, None, _T]:
        return self._coro.__await__()

    async def __aenter__(self) -> _T:
        self._ret = await self._coro
        return self._ret

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._ret is not None
        await self._ret.close()  # type: ignore[attr-defined]


class AsyncIteratorContext(AsyncIterator[_T_co], Generic[_T_co]):
    """What neuro_sdk's listing methods return.

    Use it as ``async with storage.list(uri) as it: async for x in it``; on
    leaving the ``async with`` block the iteration is closed, even after a
    ``break`` or an exception, and the worker threads feeding it are done.
    Iterating without ``async with`` also works (as in neuro_sdk), but then
    closing happens only when the iterator is exhausted or garbage-collected.
    """

    def __init__(self, agen: AsyncGenerator[_T_co, None]) -> None:
        self._agen = agen

    async def __aenter__(self) -> AsyncIterator[_T_co]:
        return self._agen

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._agen.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> _T_co:
        return await self._agen.__anext__()

    async def aclose(self) -> None:
        """Stop the iteration and release what feeds it."""
        await self._agen.aclose()


def async_iterator_context(
        func: Callable[_P, AsyncGenerator[_T, None]]) -> Callable[_P, AsyncIteratorContext[_T]]:
    """Decorate an async generator method to return :class:`AsyncIteratorContext`
    (with the method's own parameters, for type checkers too)."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> AsyncIteratorContext[_T]:
        return AsyncIteratorContext(func(*args, **kwargs))

    return wrapper
