"""Redaction: everything captured passes through here before it can reach the buffer."""
