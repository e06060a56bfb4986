"""Small complete models used by the tour, the docs and the tests."""
