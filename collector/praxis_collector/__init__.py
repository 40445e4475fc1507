"""praxis-collector: receives Praxis recording packages over tus and keeps them for IT.

Standalone on purpose: it installs on a server without the desktop app's dependencies and
reads packages with zipfile and json alone (docs/FORMAT.md, docs/UPLOAD.md).
"""

__version__ = "0.1.0"
