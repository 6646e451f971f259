"""Reusable experiment code of the book's chapters, one module per group of chapters."""
