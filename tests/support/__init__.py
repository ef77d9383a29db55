"""Test support that is not a fake: launchers, validators, corpora."""
