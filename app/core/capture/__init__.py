"""Capture sources: input, screen and active window. Each is a stoppable worker."""
