"""The hook reference, generated from the docstrings in :mod:`auditkit.hookspecs`."""

from __future__ import annotations

import inspect

from auditkit import hookspecs


def hook_specs() -> list[tuple[str, str, str, dict[str, bool]]]:
    """(name, signature, docstring, options) for every hook, in the module's order."""
    out = []
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction):
        if not name.startswith("auditkit_"):
            continue
        options = getattr(function, "auditkit_spec", {}) or {}
        line = inspect.getsourcelines(function)[1]
        signature = str(inspect.signature(function)).replace("'", "")
        out.append((line, name, signature, inspect.getdoc(function) or "", options))
    return [(n, s, d, o) for _, n, s, d, o in sorted(out)]


def hook_reference(markdown: bool = False) -> str:
    parts = []
    for name, signature, doc, options in hook_specs():
        kind = "firstresult" if options.get("firstresult") else "all results"
        if markdown:
            parts.append(f"### `{name}{signature}`\n\n*{kind}*\n\n{doc}\n")
        else:
            parts.append(
                f"{name}{signature}    [{kind}]\n" + "\n".join("    " + line for line in doc.splitlines()) + "\n"
            )
    return "\n".join(parts)
