"""Loaders: turn a model dir and its data into a model handle and an evaluation frame."""
