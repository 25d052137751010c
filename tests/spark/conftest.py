"""The Spark tier: its session fixture ``spark`` is in tests/conftest.py (the e2e tier uses it too)."""
