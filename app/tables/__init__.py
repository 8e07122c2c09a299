"""Piccolo tables, one module per noun."""
