"""Online serving: HTTP apps, the feature store (SQLite by default, Redis when configured) and the ANN index."""
