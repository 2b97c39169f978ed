"""Text matching models (query-document relevance): one file each, over the contract in `match/base.py`."""
