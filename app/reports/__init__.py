"""Printable documents (certificates) rendered with Qt's PDF writer."""
