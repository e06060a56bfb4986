"""Training: compile / fit / evaluate / predict over one donated train state, and callbacks."""
