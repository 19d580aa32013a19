"""Hook-API versioning: a plugin says which auditkit it supports; a mismatch is a message.

A plugin module (or object) may declare either or both of

- ``auditkit_requires = ">=0.1,<1"``: a PEP 440 specifier for the auditkit version;
- ``auditkit_hook_api = 1`` (or a list of ints): the hook API versions it was written for.
"""

from __future__ import annotations

from typing import Any

from auditkit._version import __version__

HOOK_API_VERSION = 1


def check_hook_api(plugin: Any) -> str | None:
    """Return a one-line reason the plugin does not fit this auditkit, or None."""
    name = getattr(plugin, "__name__", type(plugin).__name__)
    wanted_api = getattr(plugin, "auditkit_hook_api", None)
    if wanted_api is not None:
        apis = wanted_api if isinstance(wanted_api, (list, tuple, set)) else [wanted_api]
        if HOOK_API_VERSION not in apis:
            return (
                f"plugin {name} supports hook API {sorted(apis)}, this auditkit {__version__} "
                f"has hook API {HOOK_API_VERSION}: upgrade the plugin or install a matching auditkit"
            )
    spec = getattr(plugin, "auditkit_requires", None)
    if spec:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            ok = __version__ in SpecifierSet(spec)
        except InvalidSpecifier:
            return f"plugin {name}: auditkit_requires {spec!r} is not a valid version specifier"
        if not ok:
            return (
                f"plugin {name} requires auditkit{spec}, this is auditkit {__version__}: "
                f"install a matching version of auditkit or of the plugin"
            )
    return None
