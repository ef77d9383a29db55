"""The Textual user interface. No business rules here: it calls services."""
