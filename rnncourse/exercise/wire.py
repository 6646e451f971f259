"""The narrow channel between the judge and a student process: numbers in, numbers out.

A message is one frame: a 4-byte big-endian length, a UTF-8 JSON header, then the binary
blobs the header lists (``"blobs": [n0, n1, ...]`` byte counts). Arrays travel as ``.npy``
blobs written and read with ``allow_pickle=False``; nothing is ever unpickled, so a reply
from the student can carry numbers, strings and opaque handles, never code.

Values are JSON trees. Plain JSON types stand for themselves; everything else is a one-key
object whose key starts with ``$``:

``{"$array": k}``          numpy array (numeric or bool dtype) in blob ``k``
``{"$tensor": k}``         a torch tensor, same encoding (decoded as a tensor where torch exists)
``{"$float": "nan"}``      a non-finite float (``"inf"``, ``"-inf"``)
``{"$int": "123..."}``     an integer too large for JSON's doubles
``{"$tuple": [...]}``, ``{"$list": [...]}``, ``{"$dict": [[k, v], ...]}``
``{"$ref": id, "type": "Name"}``   an object that stays in the student process (a cache, a
                           model); sent back as the same handle
``{"$fn": name, "params": {...}}`` a function from :mod:`rnncourse.exercise.library`, built in
                           the student process (judge to student only)
``{"$new": name, "of": ref, "kwargs": {...}}``  an optimiser over a module's parameters
                           (``SGD`` or ``Adam``; judge to student only)

This module imports only the standard library and numpy: it is loaded by the student process
inside the sandbox as well as by the judge.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Largest frame accepted from the other side (header and blobs together).
MAX_FRAME_BYTES = 256 * 1024**2
_MAX_DEPTH = 64
_MAX_ITEMS = 1_000_000
_HEADER = struct.Struct(">I")


class WireError(ValueError):
    """A frame or a value that breaks the protocol (too big, malformed, not encodable)."""


@dataclass(frozen=True)
class Ref:
    """A handle to an object that lives in the student process."""

    id: int
    type: str = "object"

    def __repr__(self) -> str:
        return f"<{self.type} in the student process>"


@dataclass(frozen=True)
class FunctionSpec:
    """A library function to build in the student process: ``library.make(name, **params)``."""

    name: str
    params: dict[str, Any]


@dataclass(frozen=True)
class NewOptimizer:
    """An optimiser (``"SGD"`` or ``"Adam"``) over the parameters of a module in the student
    process."""

    name: str
    of: Ref
    kwargs: dict[str, Any]


def _array_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _read_array(data: bytes) -> np.ndarray:
    return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and type(value).__name__ in {
        "Tensor", "Parameter"}


class Encoder:
    """Turns values into a JSON tree and blobs.

    Args:
        keep: called with an object that cannot travel by value; returns its :class:`Ref`.
            ``None`` (the judge side) makes such an object an error.
    """

    def __init__(self, keep: Callable[[Any], Ref] | None = None) -> None:
        self.blobs: list[bytes] = []
        self._keep = keep
        self._items = 0

    def _blob(self, data: bytes) -> int:
        self.blobs.append(data)
        return len(self.blobs) - 1

    def encode(self, value: Any, depth: int = 0) -> Any:
        self._items += 1
        if depth > _MAX_DEPTH or self._items > _MAX_ITEMS:
            raise WireError("value too deeply nested or too large to send")
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, int | np.integer):
            number = int(value)
            return number if abs(number) < 2**53 else {"$int": str(number)}
        if isinstance(value, float | np.floating):
            number = float(value)
            return number if math.isfinite(number) else {"$float": repr(number)}
        if isinstance(value, np.ndarray) and type(value) is np.ndarray:
            if value.dtype.kind not in "biuf":
                return self._other(value)
            return {"$array": self._blob(_array_bytes(value))}
        if _is_tensor(value):
            array = value.detach().cpu().numpy()
            return {"$tensor": self._blob(_array_bytes(array))}
        if isinstance(value, Ref):
            return {"$ref": value.id, "type": value.type}
        if isinstance(value, FunctionSpec):
            return {"$fn": value.name, "params": self.encode(value.params, depth + 1)}
        if isinstance(value, NewOptimizer):
            return {"$new": value.name, "of": self.encode(value.of, depth + 1),
                    "kwargs": self.encode(value.kwargs, depth + 1)}
        if type(value) is tuple:
            return {"$tuple": [self.encode(v, depth + 1) for v in value]}
        if type(value) is list:
            return {"$list": [self.encode(v, depth + 1) for v in value]}
        if type(value) is dict:
            keys_ok = all(isinstance(k, str | int | float | tuple) for k in value)
            if keys_ok:
                return {"$dict": [[self.encode(k, depth + 1), self.encode(v, depth + 1)]
                                  for k, v in value.items()]}
        return self._other(value)

    def _other(self, value: Any) -> Any:
        if self._keep is None:
            raise WireError(f"cannot send a {type(value).__name__} to the student process")
        return self.encode(self._keep(value))


class Decoder:
    """Turns a JSON tree and blobs back into values.

    Args:
        blobs: the frame's blobs.
        resolve: called with a ``$ref``/``$fn``/``$new`` node and this decoder (the student
            side turns them into objects); ``None`` keeps refs as :class:`Ref` and rejects
            the others (the judge side, which never receives code or optimisers).
        tensor: turns an array into a tensor for ``$tensor`` nodes (``None``: keep arrays).
    """

    def __init__(self, blobs: list[bytes],
                 resolve: Callable[[dict, Decoder], Any] | None = None,
                 tensor: Callable[[np.ndarray], Any] | None = None) -> None:
        self.blobs = blobs
        self._resolve = resolve
        self._tensor = tensor

    def _array(self, index: Any) -> np.ndarray:
        if not isinstance(index, int) or not 0 <= index < len(self.blobs):
            raise WireError(f"bad blob index {index!r}")
        array = _read_array(self.blobs[index])
        if array.dtype.kind not in "biuf":
            raise WireError(f"arrays of dtype {array.dtype} are not accepted")
        return array

    def decode(self, node: Any, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise WireError("value too deeply nested")
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, list):  # a bare JSON list never appears in a valid tree
            raise WireError("bare list in a value tree")
        if not isinstance(node, dict) or len(node) == 0:
            raise WireError(f"malformed value node {str(node)[:80]!r}")
        if "$array" in node:
            return self._array(node["$array"])
        if "$tensor" in node:
            array = self._array(node["$tensor"])
            return self._tensor(array) if self._tensor else array
        if "$float" in node:
            text = node["$float"]
            if text not in {"nan", "inf", "-inf"}:
                raise WireError(f"bad float {text!r}")
            return float(text)
        if "$int" in node:
            return int(str(node["$int"])[:4000])
        if "$tuple" in node:
            return tuple(self.decode(v, depth + 1) for v in self._items(node["$tuple"]))
        if "$list" in node:
            return [self.decode(v, depth + 1) for v in self._items(node["$list"])]
        if "$dict" in node:
            out = {}
            for pair in self._items(node["$dict"]):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise WireError("malformed dict item")
                key = self.decode(pair[0], depth + 1)
                try:
                    hash(key)
                except TypeError:
                    raise WireError("unhashable dict key") from None
                out[key] = self.decode(pair[1], depth + 1)
            return out
        if "$ref" in node:
            if self._resolve is not None:
                return self._resolve(node, self)
            ref_id, kind = node["$ref"], node.get("type", "object")
            if not isinstance(ref_id, int) or not isinstance(kind, str):
                raise WireError("malformed reference")
            return Ref(ref_id, kind[:200])
        if ("$fn" in node or "$new" in node) and self._resolve is not None:
            return self._resolve(node, self)
        raise WireError(f"unknown value node {sorted(node)[:3]}")

    @staticmethod
    def _items(value: Any) -> list:
        if not isinstance(value, list):
            raise WireError("malformed container")
        return value


def write_frame(fd: int, header: dict, blobs: list[bytes] = ()) -> None:
    """Write one frame (header and blobs) to the file descriptor ``fd``."""
    header = dict(header, blobs=[len(b) for b in blobs])
    data = json.dumps(header, allow_nan=False).encode()
    payload = b"".join([_HEADER.pack(len(data)), data, *blobs])
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exactly(fd: int, n: int, wait: Callable[[], None] | None) -> bytes:
    chunks, remaining = [], n
    while remaining:
        if wait is not None:
            wait()
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, wait: Callable[[], None] | None = None,
               limit: int = MAX_FRAME_BYTES) -> tuple[dict, list[bytes]]:
    """Read one frame from ``fd``; ``wait`` is called before every read (a deadline check).

    Raises:
        WireError: the frame is larger than ``limit`` or malformed.
        EOFError: the channel was closed.
    """
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size, wait))
    if size > limit:
        raise WireError(f"header of {size} bytes is over the limit")
    try:
        header = json.loads(_read_exactly(fd, size, wait))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WireError(f"malformed header: {error}") from None
    sizes = header.get("blobs", []) if isinstance(header, dict) else None
    if not isinstance(sizes, list) or not all(isinstance(s, int) and s >= 0 for s in sizes):
        raise WireError("malformed blob list")
    if size + sum(sizes) > limit:
        raise WireError(f"frame of {size + sum(sizes)} bytes is over the limit of {limit}")
    return header, [_read_exactly(fd, s, wait) for s in sizes]
