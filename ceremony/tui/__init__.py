"""The keyboard-only ceremony screens (Textual): a thin driver of the engine, deciding nothing."""
