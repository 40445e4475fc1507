"""The Praxis engine. Nothing in this package may import Qt: it runs headless and under any UI."""
