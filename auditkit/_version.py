"""The package version, kept in one light module so `--version` imports nothing else."""

__version__ = "0.1.0"
