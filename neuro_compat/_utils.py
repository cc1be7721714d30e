"""Small helpers shared by the public classes: construction guard, sentinels
and the awaitable context manager that ``get()`` returns."""
from __future__ import annotations

from collections.abc import Awaitable, Coroutine, Generator
from types import TracebackType
from typing import (
    Any,
    Generic,
    TypeVar,
)

_T = TypeVar("_T")


class NoPublicConstructor(type):
    """Metaclass of classes only the package creates (Client, Storage, ...).

    Calling the class raises ``TypeError``, as in neuro_sdk; the package
    builds instances with ``Class._create(...)``.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{cls.__name__} has no public constructor; "
                        "use neuro_compat.get() or Factory().get()")

    def _create(cls, *args: Any, **kwargs: Any) -> Any:
        return super().__call__(*args, **kwargs)


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
