"""Presentation of runs: plots, tearsheets and the regulator's report (`report`)."""
