"""List a topic model's topics: each topic's top words with their weights, the most prevalent first.

Prevalence is each topic's mean share θ over documents: the run's training
documents when they are still where the run found them, or --data DIR; with
neither, topics are listed in model order.  --json or --csv for other
programs (CSV in long form: one row per topic and rank).  Works on runs of
the text modality (``dirvae train --type text``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dirvae import printer
from dirvae.cli.arguments import add_run_arguments, positive_int
from dirvae.errors import DirvaeError
from dirvae.modalities.opening import open_dataset
from dirvae.nets.topic import topic_word
from dirvae.runs.loading import load_run
from dirvae.text.loop import infer_theta
from dirvae.text.topics import render_csv, render_json, render_text, topic_table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser)
    add = parser.add_argument
    add("--top", type=positive_int, default=10, help="words per topic (default 10)")
    add("--data", metavar="DIR", help="documents to measure each topic's prevalence on (default: the run's training documents)")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print JSON")
    form.add_argument("--csv", action="store_true", help="print CSV (topic, prevalence, rank, word, weight)")


def run(args: argparse.Namespace) -> int:
    model, run = load_run(args.run, args.device, args.weights)
    words = getattr(run.data, "vocabulary", None)
    try:
        weights = topic_word(model.decoder).detach().double().cpu().numpy()
    except TypeError:
        words = None
    if not words:
        raise DirvaeError(f"{args.run}: {printer.article(run.modality)} {run.modality} run has no topics (train one with --type text)")
    source = Path(args.data) if args.data else Path(run.data.source)
    prevalence = None
    if source.exists():
        documents = open_dataset(run.data.at(source))
        prevalence = infer_theta(model.cpu(), documents.corpus.rows()).mean(axis=0)
    elif args.data:
        raise DirvaeError(f"{source}: no such file or folder")
    else:
        printer.note(f"{source} is not there any more: topics in model order (pass --data DIR for prevalence)", "topics")
    topics = topic_table(weights, words, args.top, prevalence=prevalence)
    sys.stdout.write((render_json if args.json else render_csv if args.csv else render_text)(topics))
    return 0
