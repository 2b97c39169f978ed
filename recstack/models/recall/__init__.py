"""Recall (candidate generation) models: one file each, over the contract in `recall/base.py`."""
