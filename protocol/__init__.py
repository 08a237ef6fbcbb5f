"""Typed triad messages."""
