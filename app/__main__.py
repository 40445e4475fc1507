import multiprocessing
import sys

from app.cli import main
from app.core.redact.ocr_spawn import WORKER_FLAG, serve_from_argv

if __name__ == "__main__":
    # In a frozen build the OCR worker process starts through this entry point.
    if sys.argv[1:2] == [WORKER_FLAG]:
        serve_from_argv()
    multiprocessing.freeze_support()
    sys.exit(main())
