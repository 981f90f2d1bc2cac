"""The lab folder as a Dagster resource."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr

from ..lab import Lab, LabError, load_lab
from ..settings import get_settings


class LabResource(dg.ConfigurableResource):
    """The lab: prompts, datasets, models and experiments, loaded and validated once per run."""

    path: str | None = Field(default=None, description="Lab folder; default LLMLAB_LAB or ./lab")
    limit: int | None = Field(
        default=None, description="Evaluate at most this many items per dataset (smoke runs)"
    )

    _lab: Lab | None = PrivateAttr(default=None)

    @property
    def root(self) -> Path:
        """The lab folder in use."""
        return Path(self.path).resolve() if self.path else get_settings().lab

    def load(self) -> Lab:
        """The validated lab; a broken lab fails the step with every problem listed."""
        if self._lab is None:
            try:
                self._lab = load_lab(self.root)
            except LabError as exc:
                raise dg.Failure(description=str(exc)) from None
        return self._lab
