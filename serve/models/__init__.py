"""Model artifacts: the pinned default set and the cache that pulls and verifies them."""
