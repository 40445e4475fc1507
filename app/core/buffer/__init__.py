"""The local buffer: an encrypted SQLite store of redacted recordings."""
