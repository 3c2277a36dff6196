"""Issue 14 benchmark: which reading order learns better for audio and video?

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/shuffle.py            # audio and video, 2 seeds
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/shuffle.py --smoke    # a few steps, to see it runs

Each case trains through the real ``dirvae train`` path for a fixed budget of
optimiser steps (about one epoch) on a synthetic corpus made here, then
scores held-out files (never trained on) by −ELBO per item, in nats.  Orders:

* ``files``   the seed's default: file after file, windows in order;
* ``grouped`` the best the seed offered: --shuffle --shuffle-dir (files in a
  random order, each file's items shuffled, but a batch holds one file);
* ``mixed``   --shuffle-all: every batch drawn at random from all files.

The corpus gives every file its own character (audio: a voice with its own
pitch, harmonics and vibrato; video: a clip with its own colours and motion),
so a model that sees one file per batch drifts towards the last files read.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import machine  # noqa: E402

from dirvae.data import make_loader  # noqa: E402
from dirvae.evaluation import evaluate_model  # noqa: E402
from dirvae.modalities.opening import open_dataset  # noqa: E402
from dirvae.runs.loading import load_run  # noqa: E402
from dirvae.training import run as run_module  # noqa: E402
from dirvae.training.config import resolve  # noqa: E402

ORDERS = {
    "files": {"shuffle_all": False},
    "grouped": {"shuffle_all": False, "shuffle": True, "shuffle_dir": True},
    "mixed": {"shuffle_all": True},
}
RATE = 8000
WINDOW = 1024


def make_voices(folder: Path, files: int, seconds: float, seed: int) -> Path:
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
        soundfile.write(folder / f"voice{index:03d}.wav", sound, RATE, subtype="PCM_16")
    return folder


def make_clips(folder: Path, files: int, frames: int, seed: int) -> Path:
    """One clip per file: a coloured blob with its own colours, size and path over a tinted background."""
    import av

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    side = 32
    yy, xx = np.mgrid[0:side, 0:side]
    for index in range(files):
        background = rng.uniform(0, 255, 3)
        colour = rng.uniform(0, 255, 3)
        radius = rng.uniform(4, 10)
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


def run_case(modality: str, order: str, train_dir: Path, test_dir: Path, out: Path, steps: int, seed: int) -> dict:
    options = {
        "type": modality,
        "data": str(train_dir),
        "run_dir": str(out),
        "iterations": steps,
        "epochs": 100,
        "batches": 8,
        "seed": seed,
        "save_freq": 1e9,
        "log_every": 10**6,
        "no_gpu": True,
        "threads": 1,
        "model_size": 16,
        **ORDERS[order],
    }
    if modality == "audio":
        options.update(audio_size=WINDOW, sample_rate=RATE)
    else:
        options.update(image_size=16)
    config = resolve(options)
    started = time.perf_counter()
    result = run_module.train(config, out)
    seconds = time.perf_counter() - started
    score = held_out_elbo(out, test_dir, samples=4)
    return {"modality": modality, "order": order, "seed": seed, "steps": result.global_step,
            "train_seconds": round(seconds, 1), "heldout_neg_elbo": score}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few steps on a tiny corpus, to see it runs")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--modalities", default="audio,video")
    parser.add_argument("--results", help="write every case as JSON lines here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    import logging
    import warnings

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    print(f"# shuffle benchmark, {machine()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for modality in args.modalities.split(","):
            if modality == "audio":
                n, length = (4, 1.0) if args.smoke else (24, 4.0)
                train_dir = make_voices(root / "audio-train", n, length, seed=1)
                test_dir = make_voices(root / "audio-test", max(2, n // 3), length, seed=2)
                items = n * int(length * RATE) // WINDOW
            else:
                n, frames = (4, 8) if args.smoke else (24, 30)
                train_dir = make_clips(root / "video-train", n, frames, seed=1)
                test_dir = make_clips(root / "video-test", max(2, n // 3), frames, seed=2)
                items = n * frames
            steps = 3 if args.smoke else items // 8  # one epoch at batch 8
            for seed in range(1 if args.smoke else args.seeds):
                for order in ORDERS:
                    row = run_case(modality, order, train_dir, test_dir, root / f"{modality}-{order}-{seed}", steps, seed)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    if args.results:
        Path(args.results).write_text("".join(json.dumps(row) + "\n" for row in rows))
    print("\n| modality | order | held-out −ELBO (nats/item), per seed | mean | train s |")
    print("|---|---|---|---|---|")
    for modality in args.modalities.split(","):
        for order in ORDERS:
            mine = [r for r in rows if r["modality"] == modality and r["order"] == order]
            scores = [r["heldout_neg_elbo"] for r in mine]
            seconds = np.mean([r["train_seconds"] for r in mine])
            print(f"| {modality} | `{order}` | {', '.join(f'{s:,.1f}' for s in scores)} | {np.mean(scores):,.1f} | {seconds:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
