"""Hard limits on definitions: checked before any work that grows with the input.

Every value here appears in the README's "Limits" table. The loader checks the text's
size, then walks libyaml's event stream (iterative, constant stack) to bound nesting and
aliases before composing a tree, and counts values as it builds them so that aliases
cannot expand past ``MAX_YAML_VALUES``. The expression parser checks its own recursion
depth before descending.

Aliases are allowed with a hard budget, as gopkg.in/yaml.v3 (decode.go,
``allowedAliasRatio``, after CVE-2019-11253 in Kubernetes) bounds alias-driven decodes;
here the budget is absolute rather than a ratio, because definitions are small.
"""

from __future__ import annotations

MAX_DEFINITION_BYTES = 256 * 1024
"""Largest definition text, in UTF-8 bytes."""

MAX_YAML_DEPTH = 32
"""Deepest nesting of mappings and lists in a definition."""

MAX_YAML_ALIASES = 100
"""Most ``*alias`` references in one definition."""

MAX_YAML_VALUES = 20_000
"""Most values (scalars, mappings, lists) once aliases are expanded."""

MAX_STEPS = 500
"""Most steps in one definition."""

MAX_EXPRESSION_CHARS = 2_000
"""Longest ``{{ }}`` expression, in characters."""

MAX_EXPRESSION_PARTS = 400
"""Most syntax-tree nodes in one expression."""

MAX_EXPRESSION_DEPTH = 48
"""Deepest nesting of one expression (operators, brackets, calls, member chains)."""

MAX_RENDERED_TEXT = 256_000
"""Longest text an expression or template may render to, in characters."""

CHECK_SECONDS = 10.0
"""Wall-clock time one definition check may take in its child process."""

CHECK_MEMORY_BYTES = 512 * 1024 * 1024
"""Memory one definition check may add to its child process."""

CHECK_CONCURRENCY = 2
"""Definition checks running at once per process; more wait their turn."""
