"""Shared pytest set-up. Its presence puts tests/ on sys.path, so helper modules
(tests/reportaudit.py) import from any test folder."""
