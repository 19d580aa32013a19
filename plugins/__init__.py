"""Built-in auditkit plugins: each module is a plugin registered like a third-party one."""
