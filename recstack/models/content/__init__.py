"""Content-understanding models (text classification, tag recommendation): one file each, over `content/base.py`."""
