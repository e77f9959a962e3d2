"""Pure ceremony logic: bytes in, bytes out; no I/O, randomness and time injected."""
