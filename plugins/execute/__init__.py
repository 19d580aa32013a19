"""Executors: where each model's audit runs when a folder of models is audited."""
