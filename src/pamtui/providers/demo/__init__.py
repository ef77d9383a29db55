"""The bundled demo organisation (placeholder until the provider lands)."""
