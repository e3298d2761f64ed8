"""Training: one plain loop per model family, and the ``python -m genlab.train`` CLI."""
