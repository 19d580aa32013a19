"""auditkit's built-in fairness plugin: group metrics, disparities, the score F, what-ifs.

Only the hook implementations live at this import path; numpy, pandas, sklearn and
fairlearn are imported inside the hook bodies so that `auditkit --help` stays fast.
"""

from __future__ import annotations

from auditkit.plugins.assess.fairness.plugin import auditkit_assess, auditkit_config_schema

__all__ = ["auditkit_assess", "auditkit_config_schema"]
