"""auditkit-plugin-calibration: expected calibration error overall and per group.

A complete third-party auditkit plugin. auditkit finds it through the entry point
``calibration`` in group ``auditkit`` (see pyproject.toml); the hooks are in
:mod:`auditkit_calibration.plugin`.
"""

__version__ = "0.1.0"
