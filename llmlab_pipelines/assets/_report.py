"""The per-experiment report: Markdown, plot, and its MLflow runs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import quote

import dagster as dg
import pandas as pd

from ..judges import experiment_judges, judges_producing
from ..lab import Candidate, ExperimentConfig, Lab
from ..partitions import generation_key
from ..report import (
    detectable_effect,
    family_name,
    fmt,
    image_markdown,
    items_needed,
    judges_markdown,
    leaderboard_markdown,
    markdown_table,
    paired_sd,
    plot_forest,
    plot_leaderboard,
)
from ..resources import CandidateRun, MLflowTracking
from ..secrets import redact_frame
from ..vcs import commit_of

TABLE_ROWS = 5000  # at most this many items per MLflow evaluation table (the first ones)
TABLE_CHARS = 2000  # texts in the table are clipped to this many characters
VIEW_URL = "http://127.0.0.1:8080"  # ``llmlab view``'s default address


@dataclass
class ExperimentReport:
    """Everything the leaderboard shows for one experiment on one dataset."""

    experiment: str
    dataset: str
    config: ExperimentConfig
    baseline: str
    board: pd.DataFrame
    scores: pd.DataFrame
    comparisons: pd.DataFrame
    binary: bool = True  # whether the ranked metric is 0/1
    judges: str = ""  # the judge section (Markdown): agreement with people, judge vs metrics

    @cached_property
    def sd(self) -> float:
        """SD of per-item differences from the baseline (for continuous metrics)."""
        return paired_sd(self.scores, self.config.metric, self.baseline)

    @cached_property
    def family(self) -> str:
        """The correction family of the ranked metric's comparisons, in words."""
        rows = self.comparisons[
            (self.comparisons["experiment"] == self.experiment)
            & (self.comparisons["metric"] == self.config.metric)
        ]
        return family_name(rows)

    @cached_property
    def mde(self) -> float | None:
        """Smallest difference from the baseline these items can detect."""
        return detectable_effect(
            self.board, self.baseline, binary=self.binary, sd=self.sd, alpha=self.config.alpha
        )

    def verdict(self) -> str:
        """One plain sentence: what is separable, and what it would take when nothing is."""
        others = self.board[self.board["candidate"] != self.baseline]
        winners = others[others["significant"].fillna(False).astype(bool)]
        tiers = int(self.board["tier"].max()) if len(self.board) else 1
        if len(winners):
            names = ", ".join(
                f"{c} ({d:+.3f})"
                for c, d in zip(winners["candidate"], winners["diff"], strict=True)
            )
            head = f"Differs from the baseline ({self.family}): {names}."
        else:
            needed = items_needed(
                self.board, self.baseline, binary=self.binary, sd=self.sd, alpha=self.config.alpha
            )
            head = (
                "**No candidate can be separated from the baseline** with these "
                f"{int(self.board['n'].max())} items at α = {self.config.alpha} ({self.family})."
            )
            if needed:
                head += (
                    f" Detecting the largest observed difference with 80% power would take "
                    f"about **{needed} items**."
                )
        missing = int(self.board["missing"].sum())
        tail = (
            f" Candidates fall into {tiers} tier(s): a tier holds its best candidate and every "
            "candidate not significantly worse than that best (same family)."
        )
        if missing:
            tail += (
                f" {missing} candidate-item score(s) are missing (failed generations; column "
                "`missing`): those items are left out of that candidate's mean and of every "
                "comparison it enters, on both sides."
            )
        return head + tail

    def forest(self) -> bytes:
        """The forest plot of differences from the baseline (PNG)."""
        return plot_forest(
            self.board,
            metric=self.config.metric,
            baseline=self.baseline,
            title=f"{self.experiment} on {self.dataset}: Δ vs baseline",
            family=self.family,
        )

    def plot(self) -> bytes:
        """The leaderboard plot (PNG)."""
        return plot_leaderboard(
            self.board,
            metric=self.config.metric,
            baseline=self.baseline,
            title=f"{self.experiment} on {self.dataset}",
        )

    def markdown(self, *, inline_plot: bool = False, with_plot_file: str | None = None) -> str:
        """The report: leaderboard, all comparisons, the detectable effect, the plot."""
        mine = self.comparisons[self.comparisons["experiment"] == self.experiment]
        parts = [
            f"## {self.experiment} — {self.dataset}",
            self.config.description,
            f"Ranked by **{self.config.metric}**; baseline **{self.baseline}**. Means: 95% CI "
            "per candidate (Wilson for 0/1 metrics, Student-t otherwise). Differences: paired on "
            "the items both candidates answered; percentile-bootstrap intervals, simultaneous "
            "at the Bonferroni level 1 − α/m shown in the header; tests McNemar (0/1) or paired "
            f"t; p (adj.), significance and tiers all from one family: {self.family}. The "
            "verdict is the test's; near the threshold an interval can still touch 0.",
            self.verdict(),
            leaderboard_markdown(self.board, metric=self.config.metric, baseline=self.baseline),
            f"With n = {int(self.board['n'].max())} items, the smallest difference from the "
            f"baseline detectable with 80% power at α = {self.config.alpha} is "
            f"**{fmt(self.mde)}**."
            if self.mde is not None
            else "",
            self.judges,
            "### All comparisons",
            markdown_table(mine.drop(columns=["experiment"])),
        ]
        if inline_plot:
            parts.append(image_markdown(self.plot(), "leaderboard"))
            parts.append(image_markdown(self.forest(), "forest plot"))
        elif with_plot_file:
            parts.append(f"![leaderboard]({with_plot_file})")
            parts.append("![forest plot](forest.png)")
        return "\n\n".join(p for p in parts if p)


def judge_section(
    lab: Lab,
    experiment: str,
    verdicts: dict[str, pd.DataFrame],
    scores: dict[str, pd.DataFrame],
) -> str:
    """The report's judge section for ``experiment`` (empty when it has no scoring judge)."""
    names = judges_producing(lab, lab.experiment(experiment).judges, "scores")
    if not names:
        return ""
    humans, confusion = experiment_judges(lab, experiment, verdicts, scores)
    labels = lab.human_labels.get(lab.experiment(experiment).dataset)
    return judges_markdown(names, humans, confusion, labels.display if labels else None)


def log_to_mlflow(
    tracking: MLflowTracking, lab: Lab, report: ExperimentReport, dagster_run_id: str
) -> list[str]:
    """One MLflow run per candidate of the experiment on this dataset (updated on re-runs)."""
    commit = commit_of(lab.root)
    git = (
        {
            "llmlab.git_sha": commit.sha,
            "llmlab.git_author": commit.author[:250],
            "llmlab.git_message": commit.message[:250],
        }
        if commit
        else {"llmlab.git_sha": ""}
    )
    markdown, plot = report.markdown(with_plot_file="leaderboard.png"), report.plot()
    forest = report.forest()
    parent = tracking.parent_run(
        report.experiment,
        dagster_run_id,
        report.dataset,
        {"dagster.run_id": dagster_run_id, **git},
    )
    run_ids = []
    scored = [m for m in lab.experiment_metrics(report.experiment) if m in report.scores]
    for candidate in lab.candidates(report.experiment):
        prompt = lab.prompts[candidate.prompt]
        version = tracking.register_prompt(candidate.prompt, prompt.source, candidate.prompt_hash)
        rows = report.scores[report.scores["candidate_key"] == candidate.key]
        partition = str(generation_key(candidate.key, report.dataset))
        run = CandidateRun(
            experiment=report.experiment,
            partition=partition,
            name=f"{candidate.label} on {report.dataset}",
            params=_params(lab, candidate, report),
            metrics=_metrics(report, candidate.label, rows),
            tags={
                "dagster.run_id": dagster_run_id,
                "dagster.url": f"{dagster_url()}/runs/{dagster_run_id}",
                **git,
                "llmlab.prompt_hash": candidate.prompt_hash,
                "llmlab.dataset": report.dataset,
                "llmlab.baseline": str(candidate.label == report.baseline).lower(),
                "llmlab.partition": partition,
                **({"llmlab.prompt_version": str(version)} if version else {}),
            },
            parent_run_id=parent,
            files={
                "generations.parquet": rows.to_parquet(index=False),
                "report.md": markdown,
                "leaderboard.png": plot,
                "forest.png": forest,
            },
            table=items_table(rows, scored),
        )
        run_id = tracking.log(run)
        if run_id:
            run_ids.append(run_id)
    return run_ids


def dagster_url() -> str:
    """The Dagster UI MLflow runs link back to (``LLMLAB_DAGSTER_URL``; ``llmlab ui``'s
    default address otherwise)."""
    return os.environ.get("LLMLAB_DAGSTER_URL", "http://127.0.0.1:3000").rstrip("/")


def report_links(tracking: MLflowTracking, experiment: str, dataset: str) -> dict[str, object]:
    """URL metadata of one experiment's leaderboard: its MLflow runs and ``llmlab view``."""
    view = f"{VIEW_URL}/x/{quote(experiment, safe='')}/{quote(dataset, safe='')}"
    out: dict[str, object] = {f"{experiment}_view": dg.MetadataValue.url(view)}
    runs = tracking.experiment_url(experiment)
    if runs:
        out[f"{experiment}_mlflow"] = dg.MetadataValue.url(runs)
    return out


def items_table(rows: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """The per-item table of one candidate for MLflow's evaluation view: the rendered prompt,
    output and expected answer (clipped to ``TABLE_CHARS``), every score, judges' verdicts and
    reasons when present, latency, cost and error; secrets redacted; at most ``TABLE_ROWS``."""
    rows = rows.head(TABLE_ROWS)
    judged = [c for c in rows.columns if c.endswith(("_reason", "_verdict")) or c == "reason"]
    table = pd.DataFrame({"item_id": rows["item_id"].astype(str), "repeat": rows["repeat"]})
    for target, source in (("input", "prompt"), ("output", "output"), ("expected", "expected")):
        table[target] = rows.get(source)
    for column in [*metrics, *judged, "latency_s", "cost_usd", "error"]:
        if column in rows and column not in table:
            table[column] = rows[column]
    texts = ["input", "output", "expected", *judged, "error"]
    table = redact_frame(table.reset_index(drop=True), [c for c in texts if c in table])
    for column in [c for c in texts if c in table]:
        table[column] = [_clip(v) for v in table[column]]
    return table


def _clip(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value)
    return text if len(text) <= TABLE_CHARS else text[:TABLE_CHARS] + "…"


def _params(lab: Lab, candidate: Candidate, report: ExperimentReport) -> dict[str, object]:
    model = lab.models[candidate.model]
    return {
        "dataset": report.dataset,
        "candidate": candidate.label,
        "candidate_key": candidate.key,
        "prompt": candidate.prompt,
        "prompt_hash": candidate.prompt_hash,
        "model_name": candidate.model,
        "model": model.model,
        "mode": model.mode,
        "repeats": report.config.repeats,
        "baseline": report.baseline,
        **{f"param.{k}": v for k, v in candidate.params.as_kwargs().items()},
    }


def _metrics(report: ExperimentReport, label: str, rows: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    board = report.board.set_index("candidate").loc[label]
    for key in ("mean", "ci_low", "ci_high", "diff", "diff_low", "diff_high", "p_adjusted"):
        value = board[key]
        if value is not None and value is not pd.NA:
            out[f"{report.config.metric}_{key}"] = float(value)
    for metric in report.config.metrics:
        out[f"{metric}_mean"] = float(rows[metric].mean()) if len(rows) else 0.0
    out.update(
        {
            "n_items": float(board["n"]),
            "missing_items": float(board["missing"]),
            "tier": float(board["tier"]),
            "mde": float(report.mde) if report.mde is not None else float("nan"),
            "error_rate": float(board["error_rate"]),
            "tokens": float(board["tokens"]),
            "cost_usd": float(board["cost_usd"]),
            "latency_p50_s": float(board["latency_p50_s"]),
            "prompt_tokens": float(rows["prompt_tokens"].sum()),
            "completion_tokens": float(rows["completion_tokens"].sum()),
        }
    )
    return out
