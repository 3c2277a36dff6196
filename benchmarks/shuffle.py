"""Issue 14 benchmark: which reading order learns better for audio and video?

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/shuffle.py            # audio and video, 2 seeds
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/shuffle.py --smoke    # a few steps, to see it runs
    .venv/bin/python benchmarks/shuffle.py --modalities audio --seconds 60 --voices 24 --audio-seconds 60 --audio-format ogg --batch 32
    .venv/bin/python benchmarks/shuffle.py --modalities video --train-data CLIPS/train --held-out-data CLIPS/held-out \
        --seconds 90 --image-size 64 --batch 32 --orders files,grouped,mixed,seek     # equal wall time (issue 26; BENCHMARKS.md)

Each case trains through the real ``dirvae train`` path for a fixed budget of
optimiser steps (about one epoch) on a synthetic corpus made here, then
scores held-out files (never trained on) by −ELBO per item, in nats.  Orders:

* ``files``   the seed's default: file after file, windows in order;
* ``grouped`` the best the seed offered: --shuffle --shuffle-dir (files in a
  random order, each file's items shuffled, but a batch holds one file);
* ``mixed``   --shuffle-all, the default: every batch mixes files, read in
  runs of consecutive windows or frames, several runs a batch
  (RunBatchSampler: one seek per run);
* ``random``  --shuffle-all as it was before runs: every window or frame drawn
  on its own from all files (a seek, for audio a reopen, each);
* ``seek``    ``random`` with no data workers: video's default before runs;
* ``wide``    ``mixed`` with as many runs side by side as a batch holds, one item
  of each a batch (RunBatchSampler's ``lanes`` = batch size).

Every case but ``seek`` leaves ``--num-workers`` to the library (auto).

``--seconds S`` gives every case the same wall-clock budget instead: training
stops at the first step end after S seconds from the start of training (data
workers' start-up counts), with a constant KL weight of 1 (a cyclical schedule's
phase would depend on the steps a case reached) and no validation share (the
score is on the held-out files).  Video cases then also report the held-out
frames' ``val/psnr`` and ``val/elbo`` as ``dirvae train`` logs them.
``--train-data``/``--held-out-data`` use existing folders (e.g. the clips
benchmarks/video.py --clips writes) instead of the synthetic corpora.

The corpus gives every file its own character (audio: a voice with its own
pitch, harmonics and vibrato; video: a clip with its own colours and motion),
so a model that sees one file per batch drifts towards the last files read.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
import numpy as np
import soundfile
import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import machine  # noqa: E402

from dirvae.data import make_loader  # noqa: E402
from dirvae.evaluation import evaluate_model  # noqa: E402
from dirvae.modalities.opening import open_dataset  # noqa: E402
from dirvae.runs.loading import load_run  # noqa: E402
from dirvae.training import data_module, run as run_module  # noqa: E402
from dirvae.training.config import resolve  # noqa: E402
from dirvae.training.module import DirichletVAEModule  # noqa: E402

ORDERS = {
    "files": {"shuffle_all": False},
    "grouped": {"shuffle_all": False, "shuffle": True, "shuffle_dir": True},
    "mixed": {"shuffle_all": True},
    "random": {"shuffle_all": True},  # with items read one by one (no runs), below
    "seek": {"shuffle_all": True, "num_workers": 0},  # the same with no workers
    "wide": {"shuffle_all": True},  # with lanes = batch size, below
}
ONE_BY_ONE = ("random", "seek")
DEFAULT_ORDERS = {"audio": ("files", "grouped", "mixed"), "video": ("files", "grouped", "mixed")}
RATE = 8000
WINDOW = 1024


class WallClock(L.Callback):
    """Stops training at the first step end ``seconds`` after training started, and keeps the seconds trained."""

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.started = self.ended = 0.0

    def on_train_start(self, trainer, pl_module) -> None:
        self.started = self.ended = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.ended = time.perf_counter()
        if self.ended - self.started >= self.seconds:
            trainer.should_stop = True


def make_voices(folder: Path, files: int, seconds: float, seed: int, suffix: str = "wav") -> Path:
    """One 'voice' per file: a harmonic tone with its own pitch, timbre, vibrato and syllable rhythm."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * RATE)) / RATE
    for index in range(files):
        pitch = rng.uniform(90, 420)
        vibrato = pitch * (1 + 0.03 * np.sin(2 * np.pi * rng.uniform(3, 7) * t))
        phase = 2 * np.pi * np.cumsum(vibrato) / RATE
        weights = rng.dirichlet(np.full(8, 0.5))
        wave = sum(w * np.sin((h + 1) * phase) for h, w in enumerate(weights))
        syllables = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(1.5, 4) * t + rng.uniform(0, 6.3)) ** 2
        noise = rng.normal(0, rng.uniform(0.005, 0.05), t.size)
        sound = (0.5 * syllables * wave + noise).astype(np.float32)
        if suffix == "ogg":
            soundfile.write(folder / f"voice{index:03d}.ogg", sound, RATE, format="OGG", subtype="VORBIS")
        else:
            soundfile.write(folder / f"voice{index:03d}.{suffix}", sound, RATE, subtype="PCM_16")
    return folder


def make_clips(folder: Path, files: int, frames: int, seed: int, side: int = 32) -> Path:
    """One clip per file: a coloured blob with its own colours, size and path over a tinted background.

    Encoded with libx264's defaults apart from the preset, so a keyframe every 250 frames: a frame read
    on its own decodes from the last keyframe.
    """
    import av

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:side, 0:side]
    for index in range(files):
        background = rng.uniform(0, 255, 3)
        colour = rng.uniform(0, 255, 3)
        radius = rng.uniform(4, 10) * side / 32
        speed = rng.uniform(0.05, 0.3, 2)
        start = rng.uniform(0, 2 * np.pi, 2)
        with av.open(str(folder / f"clip{index:03d}.mp4"), "w") as container:
            stream = container.add_stream("libx264", rate=10)
            stream.width = stream.height = side
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": "18", "preset": "ultrafast"}
            for number in range(frames):
                cx = side / 2 + side / 3 * np.sin(start[0] + speed[0] * number)
                cy = side / 2 + side / 3 * np.sin(start[1] + speed[1] * number)
                inside = ((xx - cx) ** 2 + (yy - cy) ** 2 < radius**2)[..., None]
                picture = np.where(inside, colour, background).astype(np.uint8)
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    return folder


def held_out_elbo(run_dir: Path, data: Path, samples: int) -> float:
    model, run = load_run(run_dir, "cpu")
    dataset = open_dataset(run.data.at(data))
    report = evaluate_model(model, make_loader(dataset, 32), nll_samples=samples, device="cpu")
    return -report["elbo"]


def held_out_validation(run_dir: Path, data: Path) -> dict:
    """``val/elbo`` and ``val/psnr`` on held-out frames, by the training module's own validation step."""
    model, run = load_run(run_dir, "cpu")
    module = DirichletVAEModule(model, psnr=True)
    module.on_validation_epoch_start()
    model.eval()
    with torch.no_grad():
        for index, batch in enumerate(make_loader(open_dataset(run.data.at(data)), 32)):
            module.validation_step(batch, index)
    means = module._val_sums / module._val_sums[2]
    return {"val_elbo": float(-(means[0] + means[1])), "val_psnr": float(means[3])}


def run_case(
    modality: str, order: str, train_dir: Path, test_dir: Path, out: Path, steps: int, seed: int, *,
    seconds: float | None = None, batch: int = 8, image_size: int = 16, threads: int | None = 1,
) -> dict:  # fmt: skip
    options = {
        "type": modality,
        "data": str(train_dir),
        "run_dir": str(out),
        "iterations": steps if seconds is None else 10**9,
        "epochs": 100 if seconds is None else 10**6,
        "batches": batch,
        "seed": seed,
        "save_freq": 1e9,
        "log_every": 10**6,
        "no_gpu": True,
        "threads": threads,
        "model_size": 16,
        **ORDERS[order],
    }
    if seconds is not None:
        options.update(kl_schedule="constant", val_fraction=0)
    if modality == "audio":
        options.update(audio_size=WINDOW, sample_rate=RATE)
    else:
        options.update(image_size=image_size)
    config = resolve(options)
    clock = WallClock(seconds if seconds is not None else float("inf"))
    reads_runs, sampler = data_module._reads_runs, data_module.RunBatchSampler
    if order in ONE_BY_ONE:
        data_module._reads_runs = lambda dataset: False  # mixed items drawn one by one, as before runs
    if order == "wide":
        data_module.RunBatchSampler = functools.partial(sampler, lanes=batch)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    try:
        result = run_module.train(config, out, callbacks=[clock])
    finally:
        data_module._reads_runs, data_module.RunBatchSampler = reads_runs, sampler
    total = time.perf_counter() - started
    score = held_out_elbo(out, test_dir, samples=4)
    row = {"modality": modality, "order": order, "seed": seed, "steps": result.global_step, "epochs": result.epoch,
           "train_seconds": round(clock.ended - clock.started, 1), "run_seconds": round(total, 1),
           "heldout_neg_elbo": score, "load": round(load, 2)}  # fmt: skip
    if modality == "video" and seconds is not None:
        row.update(held_out_validation(out, test_dir))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few steps on a tiny corpus, to see it runs")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--threads", default="1", help="torch threads per case, or auto for the library's choice (default 1)")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run from this one (default 0)")
    parser.add_argument("--modalities", default="audio,video")
    parser.add_argument("--orders", help=f"comma-separated, of {', '.join(ORDERS)} (default files,grouped,mixed)")
    parser.add_argument("--seconds", type=float, help="train every case for this many wall-clock seconds instead of one epoch")
    parser.add_argument("--batch", type=int, default=8, help="batch size (default 8)")
    parser.add_argument("--image-size", type=int, default=16, help="video frames are written and trained at this side (default 16)")
    parser.add_argument("--clips", type=int, default=24, help="training clips (default 24; a third as many held out)")
    parser.add_argument("--frames", type=int, default=30, help="frames per training clip (default 30)")
    parser.add_argument("--held-out-frames", type=int, help="frames per held-out clip (default --frames)")
    parser.add_argument("--voices", type=int, default=24, help="training audio files (default 24; a third as many held out)")
    parser.add_argument("--audio-seconds", type=float, default=4.0, help="seconds per audio file (default 4)")
    parser.add_argument("--audio-format", choices=("wav", "flac", "ogg"), default="wav", help="audio files' format (default wav)")
    parser.add_argument("--train-data", type=Path, help="train on this folder instead of a synthetic corpus (one modality)")
    parser.add_argument("--held-out-data", type=Path, help="score on this folder (with --train-data)")
    parser.add_argument("--results", help="write every case as JSON lines here")
    args = parser.parse_args(argv)
    if (args.train_data is None) != (args.held_out_data is None):
        parser.error("--train-data and --held-out-data go together")
    torch.set_num_threads(1)
    import logging
    import warnings

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    print(f"# shuffle benchmark, {machine()}, load {os.getloadavg()[0]:.2f}", flush=True)
    print(f"# command: {' '.join(sys.argv)}", flush=True)
    modalities = args.modalities.split(",")
    chosen = {m: tuple(args.orders.split(",")) if args.orders else DEFAULT_ORDERS[m] for m in modalities}
    for modality, orders in chosen.items():
        unknown = [o for o in orders if o not in ORDERS]
        if unknown:
            parser.error(f"--orders: {', '.join(unknown)} not an order for {modality}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for modality in modalities:
            if args.train_data is not None:
                train_dir, test_dir = args.train_data, args.held_out_data
                items = None
            elif modality == "audio":
                n, length = (4, 1.0) if args.smoke else (args.voices, args.audio_seconds)
                train_dir = make_voices(root / "audio-train", n, length, seed=1, suffix=args.audio_format)
                test_dir = make_voices(root / "audio-test", max(2, n // 3), length, seed=2, suffix=args.audio_format)
                items = n * int(length * RATE) // WINDOW
            else:
                n, frames = (4, 8) if args.smoke else (args.clips, args.frames)
                side = 2 * args.image_size if args.image_size <= 16 else args.image_size
                train_dir = make_clips(root / "video-train", n, frames, seed=1, side=side)
                test_dir = make_clips(root / "video-test", max(2, n // 3), args.held_out_frames or frames, seed=2, side=side)
                items = n * frames
            steps = 3 if args.smoke else (items or 0) // args.batch  # one epoch
            if args.seconds is None and items is None:
                parser.error("--train-data needs --seconds")
            for seed in range(args.first_seed, args.first_seed + (1 if args.smoke else args.seeds)):
                for order in chosen[modality]:
                    row = run_case(
                        modality, order, train_dir, test_dir, root / f"{modality}-{order}-{seed}", steps, seed,
                        seconds=args.seconds, batch=args.batch, image_size=args.image_size, threads=None if args.threads == "auto" else int(args.threads),
                    )  # fmt: skip
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    if args.results:
        Path(args.results).write_text("".join(json.dumps(row) + "\n" for row in rows))
    print(f"\n| modality | order | held-out −ELBO (nats/item), per seed | mean | steps, per seed | train s | load |")
    print("|---|---|---|---|---|---|---|")
    for modality in modalities:
        for order in chosen[modality]:
            mine = [r for r in rows if r["modality"] == modality and r["order"] == order]
            scores = [r["heldout_neg_elbo"] for r in mine]
            seconds = np.mean([r["train_seconds"] for r in mine])
            steps = ", ".join(str(r["steps"]) for r in mine)
            loads = ", ".join(f"{r['load']:.1f}" for r in mine)
            print(f"| {modality} | `{order}` | {', '.join(f'{s:,.1f}' for s in scores)} | {np.mean(scores):,.1f} | {steps} | {seconds:.0f} | {loads} |")
    if any("val_psnr" in r for r in rows):
        print("\n| order | seed | val/psnr (dB) | val/elbo | steps |")
        print("|---|---|---|---|---|")
        for r in rows:
            if "val_psnr" in r:
                print(f"| `{r['order']}` | {r['seed']} | {r['val_psnr']:.2f} | {r['val_elbo']:,.1f} | {r['steps']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
