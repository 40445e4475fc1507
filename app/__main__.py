import multiprocessing
import sys

from app.cli import main

if __name__ == "__main__":
    # In a frozen build the OCR worker process starts through this entry point.
    multiprocessing.freeze_support()
    sys.exit(main())
