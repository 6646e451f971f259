"""The student process: runs a learner's notebook cells, then answers the judge's calls.

Started by :class:`rnncourse.judge.student.StudentProcess` inside the grading sandbox as
``python -I -S server.py REQUEST_FD REPLY_FD [SITE_DIR ...]``. It never sees a test: the judge
sends the notebook's code cells that are not test cells (``exec``), then asks for calls of the
learner's functions with numbers it chose (``call``, ``call_object``), for values of the
notebook's variables (``get``), and for the weights of torch modules (``state``,
``load_state``). Every request and reply is a frame of :mod:`wire` (numbers and handles,
never pickle). Objects that cannot travel by value (a cache, a model, an optimiser) stay here
and travel as handles.

Nothing here is trusted: the learner's code runs in this very process and may change anything
in it. The judge treats every reply as the learner's answer and checks it itself.

Imports: the standard library, :mod:`wire` and :mod:`library` (beside this file), numpy, and
whatever the learner's cells import from the packages the sandbox shows (IPython for magics
when present; torch only when the assignment allows it).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
import traceback
from typing import Any

_OUTPUT_LIMIT = 256 * 1024


class _Capped(io.TextIOBase):
    """A text stream that keeps at most ``limit`` characters (the rest is counted only)."""

    def __init__(self, limit: int = _OUTPUT_LIMIT) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0
        self.limit = limit

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = self.limit - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(len(text), room)
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def text(self) -> str:
        note = f"\n[... {self.dropped} characters of output dropped]" if self.dropped else ""
        return "".join(self.parts) + note


@contextlib.contextmanager
def _captured():
    out, err = _Capped(), _Capped()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        yield out, err
    finally:
        sys.stdout, sys.stderr = saved


def _error_info(error: BaseException, tb=None) -> dict:
    lines = traceback.format_exception(type(error), error, tb or error.__traceback__)
    return {"type": type(error).__name__, "message": str(error)[:4000],
            "traceback": "".join(lines)[-8000:]}


class Server:
    """Executes cells and answers calls; see the module docstring."""

    def __init__(self, request_fd: int, reply_fd: int) -> None:
        import library  # beside this file (the sandbox mounts both)
        import wire

        self.wire = wire
        self.library = library
        self.request_fd = request_fd
        self.reply_fd = reply_fd
        self.refs: dict[int, Any] = {}
        self.namespace, self.run_source = self._interpreter()

    # --- executing cells -----------------------------------------------------------------

    def _interpreter(self):
        """IPython's shell when installed (magics, ``display``), plain ``exec`` otherwise."""
        try:
            from IPython.core.interactiveshell import InteractiveShell
            from traitlets.config import Config
        except ImportError:
            namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}

            def run_plain(source: str) -> BaseException | None:
                try:
                    exec(compile(source, "<cell>", "exec"), namespace)
                except BaseException as error:
                    traceback.print_exc()
                    return error
                return None

            return namespace, run_plain
        class Shell(InteractiveShell):
            def enable_gui(self, gui=None):  # no event loop here: figures are not shown
                return None

        config = Config()
        config.HistoryManager.enabled = False
        config.InteractiveShell.colors = "nocolor"
        shell = Shell.instance(config=config)

        def run_ipython(source: str) -> BaseException | None:
            result = shell.run_cell(source, store_history=False)
            return result.error_before_exec or result.error_in_exec

        return shell.user_ns, run_ipython

    def exec_cell(self, source: str) -> dict:
        started = time.monotonic()
        with _captured() as (out, err):
            error = self.run_source(source)
        reply = {"ok": error is None, "stdout": out.text(), "stderr": err.text(),
                 "seconds": time.monotonic() - started}
        if error is not None:
            reply["error"] = {"type": type(error).__name__, "message": str(error)[:4000]}
        return reply

    # --- values --------------------------------------------------------------------------

    def _keep(self, value: Any):
        ref_id = len(self.refs) + 1
        self.refs[ref_id] = value
        return self.wire.Ref(ref_id, type(value).__name__)

    def _resolve(self, node: dict, decoder: Any) -> Any:
        if "$ref" in node:
            try:
                return self.refs[node["$ref"]]
            except (KeyError, TypeError):
                raise self.wire.WireError(f"unknown handle {node['$ref']!r}") from None
        if "$fn" in node:
            params = decoder.decode(node.get("params", {"$dict": []}))
            return self.library.make(str(node["$fn"]), **params)
        if "$new" in node:
            import torch

            optimisers = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam}
            module = decoder.decode(node["of"])
            kwargs = decoder.decode(node.get("kwargs", {"$dict": []}))
            return optimisers[str(node["$new"])](module.parameters(), **kwargs)
        raise self.wire.WireError("unknown node")

    def _decoder(self, blobs: list[bytes]):
        def as_tensor(array):
            import torch

            return torch.from_numpy(array)

        return self.wire.Decoder(blobs, resolve=self._resolve, tensor=as_tensor)

    def _answer(self, value: Any, extra: dict | None = None) -> tuple[dict, list[bytes]]:
        encoder = self.wire.Encoder(keep=self._keep)
        reply = {"ok": True, "value": encoder.encode(value)}
        for key, item in (extra or {}).items():
            reply[key] = encoder.encode(item)
        return reply, encoder.blobs

    # --- requests ------------------------------------------------------------------------

    def _call(self, target: Any, header: dict, blobs: list[bytes]) -> tuple[dict, list[bytes]]:
        decoder = self._decoder(blobs)
        args = decoder.decode(header.get("args", {"$list": []}))
        kwargs = decoder.decode(header.get("kwargs", {"$dict": []}))
        if not callable(target):
            return {"ok": False, "error": {"type": "TypeError",
                                           "message": f"{header.get('name')} is not callable"}}, []
        started = time.monotonic()
        with _captured() as (out, _err):
            try:
                value = target(*args, **kwargs)
            except BaseException as error:
                info = _error_info(error)
                info["stdout"] = out.text()
                return {"ok": False, "error": info}, []
        extra = {"args_after": list(args)} if header.get("return_args") else {}
        reply, out_blobs = self._answer(value, extra)
        reply.update(stdout=out.text(), seconds=time.monotonic() - started)
        return reply, out_blobs

    def handle(self, header: dict, blobs: list[bytes]) -> tuple[dict, list[bytes]]:
        op = header.get("op")
        if op == "exec":
            return self.exec_cell(str(header.get("source", ""))), []
        if op == "call":
            name = str(header.get("name", ""))
            if name not in self.namespace:
                return {"ok": False, "error": {
                    "type": "NameError",
                    "message": f"the notebook defines no {name!r} (was its cell run, or was "
                               "the function renamed?)"}}, []
            return self._call(self.namespace[name], header, blobs)
        if op == "call_object":
            target = self._decoder(blobs).decode(header["target"])
            return self._call(target, header, blobs)
        if op == "get":
            name = str(header.get("name", ""))
            if name not in self.namespace:
                return {"ok": False, "error": {"type": "NameError",
                                               "message": f"the notebook defines no {name!r}"}}, []
            return self._answer(self.namespace[name])
        if op == "state":
            module = self._decoder(blobs).decode(header["target"])
            return self._answer(self.library.module_state(module))
        if op == "load_state":
            decoder = self._decoder(blobs)
            module = decoder.decode(header["target"])
            state = decoder.decode(header["state"])
            import torch

            with torch.no_grad():
                module.load_state_dict(state, strict=True)
            return {"ok": True, "value": None}, []
        if op == "ping":
            return {"ok": True, "value": os.getpid()}, []
        error = {"type": "ProtocolError", "message": f"unknown op {op!r}"}
        return {"ok": False, "error": error}, []

    def serve(self) -> None:
        wire = self.wire
        while True:
            try:
                header, blobs = wire.read_frame(self.request_fd)
            except EOFError:
                return
            try:
                reply, out_blobs = self.handle(header, blobs)
            except BaseException as error:
                reply, out_blobs = {"ok": False, "error": _error_info(error)}, []
            try:
                wire.write_frame(self.reply_fd, reply, out_blobs)
            except (ValueError, TypeError) as error:  # e.g. a value JSON cannot carry
                wire.write_frame(self.reply_fd, {"ok": False, "error": _error_info(error)})


def main(argv: list[str]) -> None:
    request_fd, reply_fd = int(argv[1]), int(argv[2])
    import site

    # ``python -I`` leaves this file's directory off sys.path: wire and library live here
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    for path in argv[3:]:
        site.addsitedir(path)
    Server(request_fd, reply_fd).serve()


if __name__ == "__main__":
    main(sys.argv)
