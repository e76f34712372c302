"""Alongside's built-in in-session tools. Each registers through the `alongside.tools`
entry-point group in pyproject.toml, exactly as an outside package would."""
