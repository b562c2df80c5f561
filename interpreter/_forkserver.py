"""Imported only by the definition-check forkserver (see ``interpreter.bounded``).

Each child re-runs the main module, which the forkserver has preloaded so that its imports
are shared; runpy warns about exactly that on every child, so the warning is silenced there.
"""

import warnings  # pragma: no cover  (runs in the forkserver process only)

warnings.filterwarnings(  # pragma: no cover
    "ignore",
    message=r".*found in sys\.modules after import of package",
    category=RuntimeWarning,
    module="runpy",
)
