"""What must hold before this package imports litellm (each import site calls it first)."""

from __future__ import annotations

import os


def before_importing_litellm() -> None:
    """Keep litellm on its bundled price map: machines here may be offline, and litellm would
    otherwise fetch the map from the network at import, which also hangs an ``mlflow server``
    started from this process (an explicit ``LITELLM_LOCAL_MODEL_COST_MAP`` wins)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
