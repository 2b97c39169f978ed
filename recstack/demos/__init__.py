"""End-to-end demos that assemble recstack's parts into running systems (`recstack demo movielens`)."""
