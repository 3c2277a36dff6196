"""The video benchmark (issue 10): the model ``dirvae train --type video`` builds, on frames of real-photo clips.

    .venv/bin/python benchmarks/video.py                                   # 10 minutes (wall clock), DirVAE
    .venv/bin/python benchmarks/video.py --models dirichlet gaussian       # and the Gaussian VAE on the same nets
    .venv/bin/python benchmarks/video.py --smoke                           # seconds: tiny clips and budget, writes nothing

Data: no real video ships inside packages, so clips are synthesised from the
real photographs benchmarks/photos.py finds: per photo, ``--clips-per-photo``
clips of ``--frames`` 64×64 frames, each a smooth camera move over the photo
(a pan, a slow zoom in, a slow zoom out, or a pan while zooming, in turn): a
square window of 64–256 photo pixels whose position and side are eased
between two random key poses, resized to 64×64 with Pillow's LANCZOS at
sub-pixel positions.  The clips are encoded as MP4 (yuv420p) with H.264
(libx264, CRF ``--crf``, default 23: x264's own default, what a user's
encoder would give) or MPEG-4 Part 2 where this FFmpeg build lacks libx264,
into a temporary folder (``--clips DIR`` keeps them), and read back through
the library's own data path, ``open_folder(dir, "video", image_size=64)``,
as ``dirvae train --type video`` reads them: the benchmark measures the
frames a user gets after lossy encoding (the run reports the held-out
frames' PSNR from the frames before encoding: about 32 dB at CRF 23; the
targets of every metric are the decoded frames).  The split is by whole
source photo (photos.py's held-out photos, china and chelsea): no held-out
frame shows a photo seen in training.  All decoded frames are then kept as
one in-memory tensor, as photos.py does, so the budget is spent on training,
not on decoding: the loader's own speed is not measured here.

Models: the model ``dirvae train --type video`` builds by default (the image
path frame by frame: its architecture, likelihood and K, via the same
``resolve`` → ``plan_run`` → ``build_model`` calls), as a DirVAE
and optionally with ``latent="gaussian"`` on identical networks.  Training:
photos.py's plain loop (batch 32, Adam 1e-3, KL weight 1, random horizontal
flips) until the budget is spent, on the ``--clock`` (wall by default, as
photos.py; ``cpu`` counts this process's CPU seconds).

Metrics on the held-out frames: PSNR of the reconstruction (decoded posterior
mean) from the MSE pooled over every held-out pixel; the same for the
thumbnail baselines, each frame area-averaged down to 8×8 (the issue's
target) or 4×4 and scaled back up bilinearly, and for painting each frame its
own mean colour; −ELBO in nats per frame; training frames per second.  The
table goes to benchmarks/results/video.md (rewritten between markers), and a
grid to benchmarks/results/video-grid.png: held-out frames, their 8×8
thumbnails upscaled, then each model's reconstructions.
"""

from __future__ import annotations

import argparse
import datetime
import math
import shlex
import sys
import tempfile
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from photos import HELD_OUT, mean_colour_psnr, photo_files, psnr, run_budgets, save_grid  # noqa: E402

RESULTS = HERE / "results" / "video.md"
GRID = HERE / "results" / "video-grid.png"
BEGIN, END = "<!-- video:begin (written by benchmarks/video.py) -->", "<!-- video:end -->"
SIZE = 64
MOVES = ("pan", "zoom-in", "zoom-out", "pan-zoom")
FPS = 24


# ------------------------------------------------------------------- clips
def _ease(t: np.ndarray) -> np.ndarray:
    """Smoothstep: the camera starts and stops gently, as a real move would."""
    return t * t * (3.0 - 2.0 * t)


def camera_path(width: int, height: int, move: str, frames: int, rng: np.random.Generator) -> np.ndarray:
    """``[frames, 4]`` crop boxes (left, top, right, bottom) of one smooth move inside a width × height photo."""
    largest = min(width, height, 4 * SIZE)
    smallest = min(SIZE, largest)
    side = rng.uniform(smallest, largest)
    if move == "zoom-in":
        sides = (side, max(smallest, side / rng.uniform(1.5, 2.0)))
    elif move == "zoom-out":
        sides = (max(smallest, side / rng.uniform(1.5, 2.0)), side)
    elif move == "pan-zoom":
        sides = (side, max(smallest, side / rng.uniform(1.2, 1.5)))
    else:
        sides = (side, side)

    def centre(s: float, near: np.ndarray | None = None) -> np.ndarray:
        low, high = np.array([s / 2, s / 2]), np.array([width - s / 2, height - s / 2])
        if near is not None:  # a pan of about one window side
            step = rng.normal(size=2)
            point = near + step / (np.linalg.norm(step) + 1e-9) * s * rng.uniform(0.5, 1.0)
            return np.clip(point, low, high)
        return rng.uniform(low, high)

    start = centre(sides[0])
    end = start if move in ("zoom-in", "zoom-out") else centre(sides[1], near=start)
    end = np.clip(end, [sides[1] / 2] * 2, [width - sides[1] / 2, height - sides[1] / 2])
    t = _ease(np.linspace(0.0, 1.0, frames))[:, None]
    centres = (1 - t) * start + t * end
    half = ((1 - t) * sides[0] + t * sides[1]) / 2
    return np.concatenate([centres - half, centres + half], axis=1)


def render_clip(photo: Image.Image, boxes: np.ndarray) -> np.ndarray:
    """``[frames, SIZE, SIZE, 3]`` uint8: each box of ``photo`` resized to SIZE×SIZE (LANCZOS, sub-pixel box)."""
    return np.stack([np.asarray(photo.resize((SIZE, SIZE), Image.Resampling.LANCZOS, box=tuple(map(float, box)))) for box in boxes])


def encoder() -> str:
    """libx264 when this PyAV's FFmpeg has it, else MPEG-4 Part 2 (the library's own choice for saved videos)."""
    from dirvae.io import video_codec

    return video_codec()


def encode_clip(frames: np.ndarray, path: Path, crf: int = 23) -> None:
    """An MP4 (yuv420p) of ``[N, H, W, 3]`` uint8 frames, written by the library's own ``save_video``."""
    from dirvae.io import save_video

    save_video(torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0, path, fps=FPS, crf=crf)


def write_clips(photo: Path, folder: Path, clips: int, frames: int, crf: int, seed: int) -> dict[str, np.ndarray]:
    """``clips`` MP4s of camera moves over one photo, the moves taken from :data:`MOVES` in turn.

    Returns each file's name and the frames it was encoded from, to measure what encoding lost.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, zlib.crc32(photo.name.encode())])
    written = {}
    with Image.open(photo) as image:
        image = image.convert("RGB")
        for number in range(clips):
            move = MOVES[number % len(MOVES)]
            path = folder / f"{photo.stem}-{number:02d}-{move}.mp4"
            written[path.name] = render_clip(image, camera_path(image.width, image.height, move, frames, rng))
            encode_clip(written[path.name], path, crf)
    return written


def read_frames(folder: Path) -> tuple[torch.Tensor, list[str]]:
    """Every frame under ``folder`` as ``[N, 3, 64, 64]``, through the library's video data path, and the files in that order."""
    from dirvae.modalities import open_folder

    dataset = open_folder(folder, "video", image_size=SIZE)
    items = [dataset[index] for index in range(len(dataset))]  # file by file: each frame decoded once
    missing = sum(item is None for item in items)
    if missing:
        raise SystemExit(f"video: {missing} of {len(items)} frames under {folder} could not be decoded")
    return torch.stack([item[0] for item in items]), [dataset.paths[int(index)] for index in dataset.file_index]


def make_data(root: Path, clips: int, frames: int, crf: int, seed: int) -> dict:
    """Clips written under ``root``/train and ``root``/held-out, read back; the split is by source photo."""
    files = photo_files()
    if len(files) < 2:
        raise SystemExit("video: need at least two photographs (scikit-learn's sample images); none found")
    test_names = [name for name in HELD_OUT if name in files]
    train_names = [name for name in files if name not in test_names]
    if not train_names:  # scikit-learn only, as in photos.py
        train_names, test_names = ["flower"], ["china"]
    codec = encoder()
    rendered: dict[str, np.ndarray] = {}
    for split, names in (("train", train_names), ("held-out", test_names)):
        for name in names:
            written = write_clips(files[name], root / split, clips, frames, crf, seed)
            if split == "held-out":
                rendered.update(written)
    train, _ = read_frames(root / "train")
    test, order = read_frames(root / "held-out")
    source = torch.from_numpy(np.concatenate([rendered[name] for name in order]).astype(np.float32) / 255.0).permute(0, 3, 1, 2)
    return {
        "train": train,
        "test": test,
        "codec_psnr": psnr(float(((test - source) ** 2).mean())),
        "train_names": train_names,
        "test_names": test_names,
        "codec": codec,
        "bytes": sum(path.stat().st_size for path in root.rglob("*.mp4")),
    }


# ----------------------------------------------------------------- baselines
def thumbnails(images: torch.Tensor, side: int) -> torch.Tensor:
    """Each image area-averaged down to side × side, then scaled back up bilinearly."""
    small = F.interpolate(images, size=(side, side), mode="area")
    return F.interpolate(small, size=images.shape[-2:], mode="bilinear", align_corners=False).clamp(0, 1)


def thumbnail_psnr(images: torch.Tensor, side: int) -> float:
    """PSNR of :func:`thumbnails`, from the MSE pooled over every pixel."""
    return psnr(float(((thumbnails(images, side) - images) ** 2).mean()))


# ------------------------------------------------------------------ training
def build(latent: str, architecture: str, reconstruction: str, model_size: int | None, options: dict | None = None):
    """The model ``dirvae train --type video`` would build for 64×64 RGB frames, with ``latent``."""
    from dirvae.training.config import resolve
    from dirvae.training.plan import plan_run
    from dirvae.training.run import build_model

    flags = {"type": "video", "data": "clips", "image_size": SIZE, "latent": latent, "architecture": architecture, "reconstruction": reconstruction}
    if model_size is not None:
        flags["model_size"] = model_size
    run = plan_run(resolve(flags), "clips")
    run.model.architecture_options.update(options or {})
    return build_model(run), run.to_dict()


# ------------------------------------------------------------------- results
def table(rows: list[dict], baselines: dict[str, float]) -> str:
    target = baselines["8×8 thumbnail"]
    lines = [
        "| budget | model | held-out PSNR (dB) | vs 8×8 thumbnail | −ELBO (nats/frame) | KL (nats/frame) | frames/s | frames seen |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['budget']} | {row['label']} | {row['psnr']:.2f} | {row['psnr'] - target:+.2f} | {row['neg_elbo']:,.0f} | "
            f"{row['kl']:,.1f} | {row['images_per_s']:.1f} | {row['images']:,} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-minutes", type=float, nargs="+", default=[10.0])
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="what the budget counts (default wall, as photos.py)")
    parser.add_argument("--models", nargs="+", choices=["dirichlet", "gaussian"], default=["dirichlet"])
    parser.add_argument("--architecture", default="auto", help="as for dirvae train (default: the video default)")
    parser.add_argument("--reconstruction", default="auto", help="as for dirvae train (default: the video default)")
    parser.add_argument("--model-size", type=int, help="K (default: the architecture's)")
    parser.add_argument("--frames", type=int, default=48, help="frames per clip (default 48, 2 s at 24 fps)")
    parser.add_argument("--clips-per-photo", type=int, default=16, help="clips per source photo (default 16, each move 4 times: 6,144 training frames; with 4 the model memorised the 1,536 frames, BENCHMARKS.md)")
    parser.add_argument("--crf", type=int, default=23, help="libx264 constant rate factor (default 23, x264's default)")
    parser.add_argument("--clips", type=Path, help="write the clips here and keep them (default: a temporary folder)")
    parser.add_argument("--upsample", choices=["nearest", "bilinear"], help="resblock decoder upsampling (default: the library's)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--note", default="", help="a line added under the table (e.g. that the machine was shared)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results/ alone")
    parser.add_argument("--smoke", action="store_true", help="a seconds-long check: 12-frame clips, 1 per photo, 3 s budget, writes nothing")
    args = parser.parse_args(argv)
    if args.smoke:
        args.frames, args.clips_per_photo, args.budget_minutes, args.no_write = 12, 1, [0.05], True
    if args.frames < 1 or args.clips_per_photo < 1:
        parser.error("--frames and --clips-per-photo must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from common import machine, write_marked_section

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    with tempfile.TemporaryDirectory(prefix="dirvae-video-") as temporary:
        root = args.clips if args.clips is not None else Path(temporary)
        data = make_data(root, args.clips_per_photo, args.frames, args.crf, args.seed)
    train_x, test_x = data["train"], data["test"]
    codec = data["codec"] + (f" CRF {args.crf}" if data["codec"] == "libx264" else " (FFmpeg's default quality)")
    baselines = {
        "8×8 thumbnail": thumbnail_psnr(test_x, 8),
        "4×4 thumbnail": thumbnail_psnr(test_x, 4),
        "mean colour": mean_colour_psnr(test_x),
    }
    clips = args.clips_per_photo
    print(
        f"video: {train_x.shape[0]} training frames ({clips} clips × {args.frames} frames per photo) from {', '.join(data['train_names'])}; "
        f"{test_x.shape[0]} held-out frames from {', '.join(data['test_names'])}; {codec}, {data['bytes'] / 1024:.0f} KiB of MP4 (held-out frames {data['codec_psnr']:.1f} dB from the rendered ones); "
        + ", ".join(f"{name} {value:.2f} dB" for name, value in baselines.items()),
        file=sys.stderr,
        flush=True,
    )

    options = {"upsample": args.upsample} if args.upsample else None

    def describe(row: dict) -> str:
        return (
            f"PSNR {row['psnr']:.2f} dB ({row['psnr'] - baselines['8×8 thumbnail']:+.2f} vs 8×8 thumbnail), "
            f"-ELBO {row['neg_elbo']:,.0f} nats/frame, KL {row['kl']:,.1f}, {row['images_per_s']:.1f} frames/s, {row['images']:,} frames"
        )

    rows, last, config = run_budgets(
        args.budget_minutes, args.models, train_x, test_x, args.clock, args.seed,
        lambda latent: build(latent, args.architecture, args.reconstruction, args.model_size, options), describe,
    )  # fmt: skip
    command = "python " + " ".join(shlex.quote(a) for a in ["benchmarks/video.py", *(sys.argv[1:] if argv is None else argv)])
    architecture = config["architecture"]
    options = {k: v for k, v in architecture["options"].items() if k not in ("image_size", "in_channels")}
    section = "\n".join(
        [
            f"**Run** {datetime.date.today().isoformat()} on {machine()}.  Command: `{command}`",
            "",
            f"Data: {train_x.shape[0]} training frames ({clips} clips × {args.frames} frames per photo, camera moves over "
            f"{', '.join(data['train_names'])}); {test_x.shape[0]} held-out frames from clips of {', '.join(data['test_names'])}, "
            f"never seen in training.  Encoded as 64×64 MP4 (yuv420p, {codec}) and read back through "
            f"`open_folder(..., \"video\", image_size=64)` ({data['codec_psnr']:.1f} dB PSNR from the frames "
            f"before encoding, held-out; the targets below are the decoded frames), then held in memory.  "
            f"Networks: `{architecture['name']}` {options}; likelihood `{config['model']['reconstruction']}`; "
            f"K = {config['model']['model_size']}; batch 32, Adam 1e-3, KL weight 1.",
            "",
            "Baselines on the held-out frames: "
            + ", ".join(f"{name} **{value:.2f} dB**" for name, value in baselines.items())
            + " (thumbnails: area-averaged down, bilinear back up).  "
            f"`{GRID.relative_to(REPO)}`: rows of the same held-out frames: inputs, their 8×8 thumbnails, then "
            + ", then ".join(last)
            + " reconstructions after the last budget.",
            "",
            table(rows, baselines),
            *(
                ["", "The Gaussian is a density on continuous values, so its −ELBO can be negative: compare it between models only."]
                if config["model"]["reconstruction"] == "gaussian"
                else []
            ),
            *([""] + [args.note] if args.note else []),
        ]
    )
    print(section)
    if not args.no_write:
        write_marked_section(RESULTS, section, BEGIN, END, "Video benchmark (issue 10)")
        save_grid(test_x, {"8×8 thumbnail": thumbnails(test_x, 8), **last}, GRID)
        print(f"video: wrote {RESULTS.relative_to(REPO)} and {GRID.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
