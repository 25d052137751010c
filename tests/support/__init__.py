"""Test doubles and builders shared by the functional tests (the simulated consumer, a fake stream)."""
