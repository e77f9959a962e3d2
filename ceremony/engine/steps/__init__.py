"""The ceremony's steps, one module per family; ``engine.flows`` runs them in order."""
