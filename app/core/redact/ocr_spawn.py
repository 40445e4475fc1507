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
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from typing import Any, Protocol

# Runs in the new interpreter: the recorder's import path, so that `app` is found as the
# recorder found it, then the worker's entry point on the inherited socket. It leaves by
# os._exit: tearing down an interpreter that holds the engine costs ~70 ms of CPU, spent
# each time an idle worker ends, and frees nothing the end of the process does not.
_WORKER_CODE = """
import json, os, sys, traceback
sys.path[:0] = json.loads(sys.argv[1])
from multiprocessing.connection import Connection
from app.core.redact import ocr_worker
code = 0
try:
    ocr_worker.main(Connection(int(sys.argv[2])), int(sys.argv[3]))
except BaseException:
    traceback.print_exc()
    code = 1
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
"""


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
            [sys.executable, "-c", _WORKER_CODE, json.dumps(sys.path), str(theirs.fileno())]
            + [str(threads)],
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
