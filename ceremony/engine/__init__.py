"""The ceremony engine: journal store, air-gap reader and, later, the state machine."""
