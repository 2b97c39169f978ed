"""Helpers shared by test modules (plain functions; fixtures stay in conftest.py files)."""
