"""The bench's own pure parts: arithmetic, report formatting, package trimming. Nothing is timed."""
