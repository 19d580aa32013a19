"""Assessments: each measures one thing about the audited model and returns a Section."""
