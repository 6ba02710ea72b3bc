"""`xinedai model train DATA --target COL --bad VALUE`, `xinedai model list` and `xinedai model show ID`."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pandas as pd
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, transaction
from django.db.models import Max

from xinedai.core import audit
from xinedai.core.dates import now
from xinedai.credit.choices import ModelStatus
from xinedai.credit.models import ScoreModel
from xinedai.credit.queries import fmt as _fmt
from xinedai.credit.queries import report_lines

CSV_SUFFIXES = (".csv", ".csv.gz", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")


class Command(BaseCommand):
    help = "Train a points scorecard from a CSV or Parquet file and store it as a draft model; list or show models."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{train,list,show}")

        train = sub.add_parser("train", help="train a scorecard and store it as a new draft version")
        train.add_argument("data", help="training data: .csv or .parquet, one row per applicant")
        train.add_argument("--target", required=True, help="the column that says good or bad")
        train.add_argument("--bad", required=True, help="the target value that marks a bad row (the event)")
        train.add_argument("--family", default="xinedai", help="product family the model belongs to")
        train.add_argument("--name", default="", help="model name (default: the data file's name)")
        train.add_argument("--test-size", type=float, default=0.3, help="held-out share (default 0.3)")
        train.add_argument("--seed", type=int, default=42, help="random seed of the split (default 42)")
        train.add_argument("--base-score", type=int, default=600, help="score at the base odds (default 600)")
        train.add_argument("--base-odds", type=float, default=50.0, help="good:bad odds at the base score")
        train.add_argument("--pdo", type=float, default=20.0, help="points to double the odds (default 20)")
        train.add_argument("--min-iv", type=float, default=0.02, help="keep variables with IV >= this")
        train.add_argument("--max-variables", type=int, default=None, help="keep at most this many variables")
        train.add_argument(
            "--exclude",
            action="append",
            default=[],
            metavar="COLUMN",
            help="a column not to use as a variable (repeatable)",
        )

        listing = sub.add_parser("list", help="model versions with status and held-out AUC")
        listing.add_argument("--family", default=None, help="only this product family")

        show = sub.add_parser("show", help="the stored training report of one model")
        show.add_argument("id", type=int, help="model id (see `model list`)")
        show.add_argument("--json", action="store_true", help="print the raw report as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        if action == "train":
            self.train_model(opts)
        elif action == "list":
            self.list_models(opts["family"])
        else:
            self.show_model(opts["id"], as_json=opts["json"])

    # --- train -------------------------------------------------------------------------------------

    def train_model(self, opts: dict[str, Any]) -> None:
        from xinedai.credit.training import train_scorecard

        path = Path(opts["data"])
        df = read_table(path)
        if opts["target"] not in df.columns:
            raise CommandError(
                f"target column {opts['target']!r} is not in {path.name} (columns: {', '.join(map(str, df.columns))})"
            )
        try:
            result = train_scorecard(
                df,
                target=opts["target"],
                bad_value=opts["bad"],
                test_size=opts["test_size"],
                seed=opts["seed"],
                base_score=opts["base_score"],
                base_odds=opts["base_odds"],
                pdo=opts["pdo"],
                min_iv=opts["min_iv"],
                max_variables=opts["max_variables"],
                exclude=opts["exclude"],
            )
        except ValueError as exc:
            raise CommandError(f"cannot train on {path.name}: {exc}") from exc

        report = result.report
        family = opts["family"]
        description = f"{path.name}, {len(df)} rows"[:300]
        try:
            with transaction.atomic():
                last = ScoreModel.objects.filter(family=family).aggregate(v=Max("version"))["v"] or 0
                row = ScoreModel.objects.create(
                    family=family,
                    version=last + 1,
                    name=(opts["name"] or path.name)[:100],
                    status=ModelStatus.DRAFT,
                    compiled=result.scorecard.to_dict(),
                    report=report,
                    data_description=description,
                    trained_at=now(),
                    trained_by=None,
                )
                audit.record(
                    None,
                    "credit.model.train",
                    row,
                    after={
                        "family": row.family,
                        "version": row.version,
                        "name": row.name,
                        "status": row.status,
                        "data": description,
                        "target": report["target"],
                        "bad_value": report["bad_value"],
                        "n_train": report["n_train"],
                        "n_test": report["n_test"],
                        "auc_test": report["test"]["auc"],
                        "ks_test": report["test"]["ks"],
                        "gini_test": report["test"]["gini"],
                        "variables": result.scorecard.names,
                    },
                )
        except IntegrityError as exc:
            raise CommandError(f"another model of family {family!r} was stored at the same time; run again") from exc

        for line in report_lines(report):
            self.stdout.write(line)
        self.stdout.write("")
        self.stdout.write(f"stored model {row.pk}: {row.family} v{row.version} ({row.status}), {row.name}")

    # --- list / show -------------------------------------------------------------------------------

    def list_models(self, family: str | None) -> None:
        rows = ScoreModel.objects.all()
        if family:
            rows = rows.filter(family=family)
        rows = rows.order_by("family", "-version")
        if not rows.exists():
            self.stdout.write("no models")
            return
        self.stdout.write(
            f"{'id':>5}  {'family':<12} {'ver':>4}  {'status':<9} {'AUC':>6}  {'trained at (UTC)':<17} name"
        )
        for m in rows:
            auc = (m.report or {}).get("test", {}).get("auc")
            self.stdout.write(
                f"{m.pk:>5}  {m.family:<12} {m.version:>4}  {m.status:<9} {_fmt(auc, 4):>6}  "
                f"{m.trained_at:%Y-%m-%d %H:%M}  {m.name}"
            )

    def show_model(self, pk: int, *, as_json: bool) -> None:
        m = ScoreModel.objects.filter(pk=pk).first()
        if m is None:
            raise CommandError(f"no model with id {pk}")
        if as_json:
            self.stdout.write(json.dumps(m.report, ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"model {m.pk}: {m.family} v{m.version} ({m.status}), {m.name}")
        self.stdout.write(f"data: {m.data_description}; trained at {m.trained_at:%Y-%m-%d %H:%M} UTC")
        for line in report_lines(m.report):
            self.stdout.write(line)


def read_table(path: Path) -> pd.DataFrame:
    """The training data as a DataFrame; CommandError for a missing file or an unknown format."""
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    name = path.name.lower()
    try:
        if name.endswith(PARQUET_SUFFIXES):
            if importlib.util.find_spec("pyarrow") is None and importlib.util.find_spec("fastparquet") is None:
                raise CommandError(
                    "reading Parquet needs pyarrow, which is not installed: pip install pyarrow "
                    "(or save the data as CSV)"
                )
            return pd.read_parquet(path)
        if name.endswith(CSV_SUFFIXES):
            return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise CommandError(f"cannot read {path.name}: {exc}") from exc
    raise CommandError(f"unknown data format {path.name!r}: give a .csv or .parquet file")
