"""Starting the OCR worker process (see ocr_pool) without helper processes.

multiprocessing's 'spawn' on POSIX also starts its resource tracker: a second interpreter
(~13 MB) that lives as long as the recorder, idle worker or not, although the worker shares
no semaphores or shared memory with it. On POSIX the worker is therefore a plain child
interpreter that gets its end of a socket pair as a multiprocessing Connection; only the
worker itself runs, and it ends with its pipe. Windows has no resource tracker: there the
'spawn' context is used as it is.

Forking the recorder is no option: it would copy its threads' locks and X connection.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import traceback
from multiprocessing.connection import Connection
from typing import Any, Protocol

# The flag that makes the recorder's own executable a worker (see app/__main__.py): a frozen
# build has no interpreter to hand code to.
WORKER_FLAG = "--praxis-ocr-worker"

# Runs in a plain interpreter: the recorder's import path, so that `app` is found as the
# recorder found it, then the worker.
_WORKER_CODE = """
import json, sys
sys.path[:0] = json.loads(sys.argv.pop(1))
from app.core.redact.ocr_spawn import serve_from_argv
serve_from_argv()
"""


def serve_from_argv() -> None:
    """The worker's entry point: sys.argv ends with the inherited socket's descriptor and the
    thread count. It leaves by os._exit: tearing down an interpreter that holds the engine
    costs ~70 ms of CPU, spent each time an idle worker ends, and frees nothing the end of the
    process does not."""
    from app.core.redact import ocr_worker

    code = 0
    try:
        ocr_worker.main(Connection(int(sys.argv[-2])), int(sys.argv[-1]))
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class WorkerProcess(Protocol):
    """The part of multiprocessing.Process the pool uses."""

    @property
    def pid(self) -> int | None: ...

    def is_alive(self) -> bool: ...

    def join(self, timeout: float | None = None) -> None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


class _ChildInterpreter:
    """A subprocess.Popen seen as a multiprocessing.Process."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen

    @property
    def pid(self) -> int | None:
        return self._popen.pid

    def is_alive(self) -> bool:
        return self._popen.poll() is None  # also reaps an ended child: no zombie stays

    def join(self, timeout: float | None = None) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout)

    def terminate(self) -> None:
        if self.is_alive():
            self._popen.terminate()

    def kill(self) -> None:
        if self.is_alive():
            self._popen.kill()


def start_worker(threads: int) -> tuple[WorkerProcess, Any]:
    """Start an OCR worker; returns it and the recorder's end of its duplex pipe."""
    if sys.platform == "win32":
        return _start_with_multiprocessing(threads)
    ours, theirs = socket.socketpair()
    try:
        popen = subprocess.Popen(
            _worker_command() + [str(theirs.fileno()), str(threads)],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            close_fds=True,
        )
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return _ChildInterpreter(popen), Connection(ours.detach())


def _worker_command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, WORKER_FLAG]
    return [sys.executable, "-c", _WORKER_CODE, json.dumps(sys.path)]


def _start_with_multiprocessing(threads: int) -> tuple[WorkerProcess, Any]:
    from app.core.redact import ocr_worker

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=True)
    process = context.Process(
        target=ocr_worker.main,
        args=(child, threads),
        name="praxis-ocr",
        daemon=True,  # never outlives the recorder
    )
    process.start()
    child.close()
    return process, parent
