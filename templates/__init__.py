"""Built-in jinja2 templates and the print stylesheet (package data)."""
