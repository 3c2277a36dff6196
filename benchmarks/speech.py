"""The speech benchmark (issue 10): audio architectures on espeak-ng sentences, speed and held-out quality.

    .venv/bin/python benchmarks/speech.py                                    # every architecture, 3-min budgets
    .venv/bin/python benchmarks/speech.py --speed-only                       # windows/s only, interleaved
    .venv/bin/python benchmarks/speech.py --architectures stft --budget-minutes 10

Corpus: English sentences spoken by ``espeak-ng`` in four voices (two male,
two female variants, different speeds and pitches), resampled to 16 kHz,
leading and trailing silence trimmed, peak-normalised to 0.5.  Training
sentences and held-out sentences are different texts (every voice speaks
both), so the held-out score is on words never heard in training.  Without
``espeak-ng`` on the PATH the benchmark says so and exits 0 (``apt-get install
espeak-ng`` installs it on Debian).

Training: ``dirvae train``'s model for ``--type audio`` with windows of
2^14 samples (``plan_run``, so the defaults are the library's), batch 8,
random windows of the training sentences (concatenated per voice), a plain
loop (``model.loss`` → backward → sanitise+clip → Adam at ``dirvae train``'s audio learning rate, 3e-3
since 2026-11-26, or ``--learning-rate``; KL weight 1),
until the budget (``--clock wall`` or ``cpu`` seconds) is spent.

Speed: seconds per training step of each architecture, measured interleaved
in one process (so machine noise hits all alike), as windows/s.

Metrics on each held-out sentence, reconstructed whole through overlap-added
half-overlapping windows (:mod:`dirvae.io.stitching`), pooled over the
sentences: log-mel L1 (natural log of an 80-band mel magnitude, n_fft 1024,
hop 256, floored at 1e-5, the HiFi-GAN convention), over the full band and
over the bands centred below 1 kHz; log-spectral distance (dB, n_fft 512);
correlation of the 10-ms RMS envelopes; SNR (dB); and the sample steps at
former window boundaries (multiples of 2^14) over the output's own
99th-percentile step: the largest, and the share above 1 (about 1 % when
the joins are clean, most of them when windows are joined edge to edge,
which is also measured).
Two baselines take the reconstruction's place: silence, and the original
low-passed at 2 kHz.  A spectrogram PNG (original above reconstruction,
first held-out sentence, the first architecture at the last budget) goes to
benchmarks/results/speech-spectrogram.png, the table to benchmarks/results/speech.md
(``--results`` names another file; the PNG goes beside it).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
RESULTS = HERE / "results" / "speech.md"
BEGIN, END = "<!-- speech:begin (written by benchmarks/speech.py) -->", "<!-- speech:end -->"
RATE = 16000
WINDOW = 2**14
BATCH = 8

VOICES = [("en-us", 160, 50), ("en-gb+f3", 150, 60), ("en-us+m3", 175, 35), ("en-gb-x-rp+f2", 140, 70)]
"""(voice, words a minute, pitch 0-99): two male, two female variants."""

TRAIN_TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "A stitch in time saves nine, they always said.",
    "Please call Stella and ask her to bring these things.",
    "Six spoons of fresh snow peas and five thick slabs of blue cheese.",
    "We also need a small plastic snake and a big toy frog.",
    "She can scoop these things into three red bags.",
    "The rainbow is a division of white light into many beautiful colours.",
    "These take the shape of a long round arch, with its path high above.",
    "When the sunlight strikes raindrops in the air, they act as a prism.",
    "Throughout the centuries people have explained the rainbow in various ways.",
    "Some have accepted it as a miracle without physical explanation.",
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
]
HELD_OUT_TEXTS = [
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
]


# ---------------------------------------------------------------------- corpus
def speak(text: str, voice: str, speed: int, pitch: int, folder: Path) -> np.ndarray:
    """One sentence from espeak-ng at 16 kHz, silence trimmed, peak 0.5."""
    import soundfile
    from scipy.signal import resample_poly

    path = folder / "s.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), text], check=True)
    audio, rate = soundfile.read(path, dtype="float32")
    audio = audio.mean(axis=1) if audio.ndim > 1 else audio
    from math import gcd

    common = gcd(rate, RATE)
    audio = resample_poly(audio, RATE // common, rate // common).astype(np.float32)
    loud = np.flatnonzero(np.abs(audio) > 0.01 * np.abs(audio).max())
    audio = audio[max(0, loud[0] - 800) : loud[-1] + 800]
    return 0.5 * audio / np.abs(audio).max()


def build_corpus() -> tuple[list[np.ndarray], list[np.ndarray]] | None:
    """(training sentences, held-out sentences), or None when espeak-ng is missing."""
    if shutil.which("espeak-ng") is None:
        return None
    train, held_out = [], []
    with tempfile.TemporaryDirectory() as folder:
        for voice, speed, pitch in VOICES:
            train += [speak(text, voice, speed, pitch, Path(folder)) for text in TRAIN_TEXTS]
            held_out += [speak(text, voice, speed, pitch, Path(folder)) for text in HELD_OUT_TEXTS]
    return train, held_out


def window_sampler(sentences: list[np.ndarray], seed: int):
    """Random 2^14-sample windows of the training audio (all sentences back to back)."""
    audio = torch.from_numpy(np.concatenate(sentences))
    generator = torch.Generator().manual_seed(seed)

    def batch() -> torch.Tensor:
        starts = torch.randint(0, audio.numel() - WINDOW, (BATCH,), generator=generator)
        return torch.stack([audio[s : s + WINDOW] for s in starts.tolist()])[:, None]

    return batch


# ----------------------------------------------------------------------- model
def build(architecture: str, reconstruction_options: dict | None = None, options: dict | None = None):
    """The model ``dirvae train --type audio --audio-size 16384`` builds for ``architecture``."""
    from dirvae.training.config import resolve
    from dirvae.training.plan import plan_run
    from dirvae.training.run import build_model

    flags = {"type": "audio", "data": "speech", "architecture": architecture, "audio_size": WINDOW}
    run = plan_run(resolve(flags), "speech")
    run.model.architecture_options.update(options or {})
    if "model_size" in (options or {}):  # K is the nets' feature width and the latent's: both must change
        run.model.model_size = options["model_size"]
    run.model.reconstruction_options.update(reconstruction_options or {})
    return build_model(run), run.to_dict()


def training_step(model, optimizer, sanitizer, batch: torch.Tensor) -> None:
    terms = model.loss(batch)
    optimizer.zero_grad(set_to_none=True)
    terms.total.backward()
    sanitizer(model.parameters())
    optimizer.step()


def annealed(learning_rate: float, fraction: float, schedule: str = "constant", final: float = 0.1) -> float:
    """The learning rate at ``fraction`` of the budget: constant, or cosine/linear down to ``final`` × at the end.

    Why by budget fraction: a budget run does not know its step count, and a CPU-clock budget
    spent on a busy machine still anneals over the same training.
    """
    fraction = min(max(fraction, 0.0), 1.0)
    if schedule == "constant":
        return learning_rate
    decay = 0.5 * (1 + math.cos(math.pi * fraction)) if schedule == "cosine" else 1 - fraction
    return learning_rate * (final + (1 - final) * decay)


def train(
    model, next_batch, budget_s: float, clock: str, learning_rate: float = 1e-3, schedule: str = "constant", final: float = 0.1
) -> dict:
    from dirvae import GradientSanitizer, make_optimizer

    now = time.process_time if clock == "cpu" else time.perf_counter
    optimizer = make_optimizer(model.parameters(), learning_rate)
    sanitizer = GradientSanitizer(max_norm=1.0)
    model.train()
    steps, start, wall_start = 0, now(), time.perf_counter()
    while now() - start < budget_s:
        for group in optimizer.param_groups:
            group["lr"] = annealed(learning_rate, (now() - start) / budget_s, schedule, final)
        training_step(model, optimizer, sanitizer, next_batch())
        steps += 1
    wall = time.perf_counter() - wall_start
    return {"steps": steps, "windows": steps * BATCH, "windows_per_s": steps * BATCH / wall}


def speeds(candidates: dict[str, tuple], next_batch, rounds: int = 5) -> dict[str, float]:
    """Windows/s of a training step per candidate, interleaved."""
    from common import interleaved_timings
    from dirvae import GradientSanitizer, make_optimizer

    batch = next_batch()
    functions = {}
    for name, (model, _config) in candidates.items():
        optimizer, sanitizer = make_optimizer(model.parameters(), 1e-3), GradientSanitizer(max_norm=1.0)
        functions[name] = lambda m=model, o=optimizer, s=sanitizer: training_step(m, o, s, batch)
    seconds = interleaved_timings(functions, repeats=2, warmup=1, rounds=rounds)
    return {name: BATCH / value for name, value in seconds.items()}


# --------------------------------------------------------------------- metrics
def _mel_filters(n_fft: int = 1024, n_mels: int = 80) -> tuple[torch.Tensor, np.ndarray]:
    from dirvae.nets.melresnet import hz_to_mel, mel_filterbank, mel_to_hz

    centres = mel_to_hz(torch.linspace(0.0, float(hz_to_mel(torch.tensor(RATE / 2.0))), n_mels + 2))[1:-1].numpy()
    return mel_filterbank(n_fft, n_mels, RATE).double(), centres


def log_mel(x: torch.Tensor) -> torch.Tensor:
    filters, _ = _mel_filters()
    spectrum = torch.stft(x.double(), 1024, 256, window=torch.hann_window(1024, dtype=torch.float64), return_complex=True)
    return torch.log(torch.clamp(filters @ spectrum.abs(), min=1e-5))


def metrics(original: torch.Tensor, output: torch.Tensor) -> dict[str, float]:
    """Per-sentence metrics of ``output`` against ``original`` (1-D, same length)."""
    _, centres = _mel_filters()
    difference = (log_mel(original) - log_mel(output)).abs()
    window = torch.hann_window(512, dtype=torch.float64)
    power = [torch.stft(s.double(), 512, 128, window=window, return_complex=True).abs() ** 2 + 1e-10 for s in (original, output)]
    lsd = torch.sqrt(((10 * torch.log10(power[0]) - 10 * torch.log10(power[1])) ** 2).mean(dim=0)).mean()
    frames = [s.double()[: s.numel() // 160 * 160].reshape(-1, 160).pow(2).mean(dim=1).sqrt() for s in (original, output)]
    envelope = torch.corrcoef(torch.stack(frames))[0, 1] if frames[1].std() > 0 else torch.tensor(0.0)
    noise = (original.double() - output.double()).pow(2).sum()
    return {
        "mel_l1": float(difference.mean()),
        "mel_l1_low": float(difference[torch.from_numpy(centres < 1000.0)].mean()),
        "lsd": float(lsd),
        "envelope": float(envelope),
        "snr": float(10 * torch.log10(original.double().pow(2).sum() / noise.clamp_min(1e-20))),
    }


def diagnosis(original: torch.Tensor, output: torch.Tensor) -> dict[str, float]:
    """Where one sentence's log-mel L1 comes from: per band, silent against voiced frames, floor bins.

    A frame is *quiet* when the original's frame energy is 40 dB or more below
    its loudest frame (pauses, closures); a bin is *at the floor* when the
    original's mel magnitude is at the metric's 1e-5 floor.  Each ``*_share``
    is that part's share of the whole sentence's summed |difference|; the
    ``*_bias`` entries are mean (ln output − ln original), positive when the
    reconstruction is too loud there.
    """
    _, centres = _mel_filters()
    target, produced = log_mel(original), log_mel(output)
    difference = produced - target
    total = difference.abs().sum()
    energy = torch.logsumexp(2 * target, dim=0)
    quiet = energy < energy.max() - 4 * math.log(10.0)  # 40 dB in power
    floor = target <= math.log(1e-5) + 1e-9
    bands = {"low": torch.from_numpy(centres < 1000.0), "mid": torch.from_numpy((centres >= 1000.0) & (centres < 4000.0)), "high": torch.from_numpy(centres >= 4000.0)}
    result = {
        "quiet_frames": float(quiet.double().mean()),
        "quiet_share": float(difference[:, quiet].abs().sum() / total),
        "floor_bins": float(floor.double().mean()),
        "floor_share": float(difference[floor].abs().sum() / total),
        "voiced_l1": float(difference[:, ~quiet].abs().mean()),
        "quiet_l1": float(difference[:, quiet].abs().mean()) if quiet.any() else 0.0,
    }
    for name, rows in bands.items():
        result[f"{name}_voiced_l1"] = float(difference[rows][:, ~quiet].abs().mean())
        result[f"{name}_quiet_l1"] = float(difference[rows][:, quiet].abs().mean()) if quiet.any() else 0.0
        result[f"{name}_voiced_bias"] = float(difference[rows][:, ~quiet].mean())
        result[f"{name}_quiet_bias"] = float(difference[rows][:, quiet].mean()) if quiet.any() else 0.0
    return result


def boundary_steps(output: torch.Tensor) -> torch.Tensor:
    """Each step across a former window boundary k·2^14, over the output's own 99th-percentile step."""
    steps = output.double().diff().abs()
    boundaries = torch.arange(WINDOW, output.numel(), WINDOW)
    return steps[boundaries - 1] / torch.quantile(steps, 0.99).clamp_min(1e-12)


def boundary_summary(outputs: list[torch.Tensor]) -> tuple[float, float]:
    """(largest boundary step / p99 step, share of boundaries above their p99 step).

    With no click a boundary step is an ordinary step, above the p99 about 1 %
    of the time, so the largest of a few dozen can exceed 1 by chance; a click
    puts most boundaries above it.
    """
    ratios = torch.cat([boundary_steps(y) for y in outputs])
    if ratios.numel() == 0:
        return 0.0, 0.0
    return float(ratios.max()), float((ratios > 1).double().mean())


def low_passed(x: np.ndarray, cutoff: float = 2000.0) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    return sosfiltfilt(butter(8, cutoff, fs=RATE, output="sos"), x).astype(np.float32)


@torch.no_grad()
def reconstruct(model, sentence: np.ndarray, stitched: bool = True) -> torch.Tensor:
    from dirvae.io.stitching import stitch

    model.eval()
    signal = torch.from_numpy(sentence)[None]

    def window_model(windows: torch.Tensor) -> torch.Tensor:
        return model.decode(model.encode(windows).mean)

    if stitched:
        return stitch(signal, WINDOW, window_model)[0]
    padded = torch.nn.functional.pad(signal, (0, -signal.shape[-1] % WINDOW))
    windows = padded.reshape(1, -1, WINDOW).permute(1, 0, 2)
    return window_model(windows).reshape(-1)[: signal.shape[-1]]


def pooled(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}


def evaluate(model, held_out: list[np.ndarray]) -> tuple[dict[str, float], list[torch.Tensor]]:
    outputs = [reconstruct(model, sentence) for sentence in held_out]
    rows = [metrics(torch.from_numpy(s), y) for s, y in zip(held_out, outputs)]
    result = pooled(rows)
    result["boundary"], result["boundary_share"] = boundary_summary(outputs)
    edge_to_edge = [reconstruct(model, sentence, stitched=False) for sentence in held_out]
    result["boundary_edge_to_edge"], result["boundary_share_edge_to_edge"] = boundary_summary(edge_to_edge)
    return result, outputs


def baselines(held_out: list[np.ndarray]) -> dict[str, dict[str, float]]:
    silence = pooled([metrics(torch.from_numpy(s), torch.zeros(len(s))) for s in held_out])
    low = pooled([metrics(torch.from_numpy(s), torch.from_numpy(low_passed(s))) for s in held_out])
    return {"silence": silence, "low-passed at 2 kHz": low}


# --------------------------------------------------------------------- outputs
def _colour(values: np.ndarray) -> np.ndarray:
    """[0, 1] → RGB uint8 with a dark-blue → red → yellow ramp (no matplotlib needed)."""
    anchors = np.array([[0, 0, 4], [60, 15, 110], [180, 50, 90], [250, 140, 40], [252, 250, 180]], dtype=np.float64)
    position = np.clip(values, 0, 1) * (len(anchors) - 1)
    low = np.floor(position).astype(int).clip(0, len(anchors) - 2)
    fraction = (position - low)[..., None]
    return (anchors[low] * (1 - fraction) + anchors[low + 1] * fraction).astype(np.uint8)


def save_spectrogram(original: torch.Tensor, output: torch.Tensor, path: Path) -> None:
    """Log-mel spectrograms, original above reconstruction, low frequencies at the bottom."""
    from PIL import Image

    images = [log_mel(s).numpy()[::-1] for s in (original, output)]
    top = max(image.max() for image in images)
    scaled = [(image - (top - 9.0)) / 9.0 for image in images]  # a ~80 dB range
    gap = np.ones((4, images[0].shape[1]))
    picture = _colour(np.concatenate([scaled[0], gap, scaled[1]]))
    image = Image.fromarray(picture).resize((picture.shape[1] * 3, picture.shape[0] * 3), Image.NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def table(rows: list[dict], references: dict[str, dict[str, float]]) -> str:
    lines = [
        "| budget | model | windows/s (training) | log-mel L1 | log-mel L1 < 1 kHz | LSD (dB) | envelope corr. | SNR (dB) | boundary jump / p99 step: largest, share > 1 (edge to edge) | windows seen |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['budget']} | {row['label']} | {row['windows_per_s']:.1f} | {row['mel_l1']:.3f} | {row['mel_l1_low']:.3f} | {row['lsd']:.2f} | "
            f"{row['envelope']:.3f} | {row['snr']:.1f} | {row['boundary']:.2f}, {row['boundary_share']:.0%} "
            f"({row['boundary_edge_to_edge']:.2f}, {row['boundary_share_edge_to_edge']:.0%}) | {row['windows']:,} |"
        )
    for label, values in references.items():
        lines.append(
            f"| — | baseline: {label} | — | {values['mel_l1']:.3f} | {values['mel_l1_low']:.3f} | {values['lsd']:.2f} | "
            f"{values['envelope']:.3f} | {values['snr']:.1f} | — | — |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--architectures", nargs="+", default=["stft", "wave"], help="registered audio architectures (default stft wave)")
    parser.add_argument("--fft-sizes", type=int, nargs="+", help="the STFT loss's resolutions (default: the library's)")
    parser.add_argument("--budget-minutes", type=float, nargs="+", default=[3.0])
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="what the budget counts (default wall)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--speed-only", action="store_true", help="measure windows/s only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learning-rate", type=float, help="Adam learning rate of the budget runs (default: dirvae train's for audio)")
    parser.add_argument("--lr-schedule", choices=["constant", "cosine", "linear"], default="constant", help="learning rate over the budget (default constant)")
    parser.add_argument("--lr-final", type=float, default=0.1, help="cosine/linear: the learning rate at the budget's end, as a fraction (default 0.1)")
    parser.add_argument("--net-options", type=json.loads, default={}, help="JSON merged into the architecture's options (probes)")
    parser.add_argument("--loss-options", type=json.loads, default={}, help="JSON merged into the STFT loss's options (probes)")
    parser.add_argument("--save-model", type=Path, help="torch.save the last trained model's state dict here (for inspection)")
    parser.add_argument("--diagnose", action="store_true", help="also print where the held-out log-mel L1 comes from")
    parser.add_argument("--note", default="", help="a line added under the table (e.g. the machine's load)")
    parser.add_argument("--results", type=Path, default=RESULTS, help=f"the Markdown file to write (default {RESULTS.relative_to(REPO)}); the PNG goes beside it")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results/ alone")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from common import machine, write_marked_section

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    corpus = build_corpus()
    if corpus is None:
        print("speech benchmark skipped: espeak-ng is not installed (apt-get install espeak-ng)", file=sys.stderr)
        return 0
    train_sentences, held_out = corpus
    seconds = sum(map(len, train_sentences)) / RATE
    print(f"speech: {len(train_sentences)} training sentences ({seconds:.0f} s), {len(held_out)} held-out, {len(VOICES)} voices", file=sys.stderr)
    loss_options = {**({"fft_sizes": args.fft_sizes} if args.fft_sizes else {}), **args.loss_options}
    next_batch = window_sampler(train_sentences, args.seed)
    torch.manual_seed(args.seed)
    rates = speeds({name: build(name, loss_options, args.net_options) for name in args.architectures}, next_batch)
    load = os.getloadavg()[0]
    for name, rate in rates.items():
        print(f"{name:>10}: {rate:.1f} windows/s ({rate / rates[args.architectures[-1]]:.2f}x {args.architectures[-1]}), load {load:.1f}", file=sys.stderr)
    if args.speed_only:
        return 0
    from dirvae.training.config import resolve

    learning_rate = args.learning_rate if args.learning_rate is not None else resolve({"type": "audio"}).learning_rate
    references = baselines(held_out)
    rows = []
    for minutes in args.budget_minutes:
        for name in args.architectures:
            torch.manual_seed(args.seed)
            model, _config = build(name, loss_options, args.net_options)
            stats = train(model, window_sampler(train_sentences, args.seed), minutes * 60.0, args.clock, learning_rate, args.lr_schedule, args.lr_final)
            result, outputs = evaluate(model, held_out)
            if args.save_model:
                torch.save(model.state_dict(), args.save_model)
            if args.diagnose:
                parts = pooled([diagnosis(torch.from_numpy(s), y) for s, y in zip(held_out, outputs)])
                print("diagnosis: " + ", ".join(f"{key} {value:.3f}" for key, value in parts.items()), file=sys.stderr)
            row = {"budget": f"{minutes:g} min {args.clock}", "label": name, **stats, **result}
            rows.append(row)
            print(
                f"{row['budget']:>12} {name:>6}: log-mel L1 {row['mel_l1']:.3f} (<1 kHz {row['mel_l1_low']:.3f}), LSD {row['lsd']:.2f} dB, "
                f"envelope {row['envelope']:.3f}, SNR {row['snr']:.1f} dB, boundary {row['boundary']:.2f} / {row['boundary_share']:.0%} "
                f"(edge to edge {row['boundary_edge_to_edge']:.2f} / {row['boundary_share_edge_to_edge']:.0%}), "
                f"{row['windows_per_s']:.1f} windows/s, {row['steps']} steps",
                file=sys.stderr,
            )
            if not args.no_write and name == args.architectures[0] and minutes == args.budget_minutes[-1]:
                save_spectrogram(torch.from_numpy(held_out[0]), outputs[0], args.results.with_name(args.results.stem + "-spectrogram.png"))
    text = table(rows, references)
    print(text)
    if not args.no_write:
        command = "benchmarks/speech.py " + shlex.join(argv if argv is not None else sys.argv[1:])
        header = (
            f"{datetime.date.today().isoformat()}, {machine()}, load average {load:.1f} at the start; `{command}`.\n"
            f"Speed, interleaved: " + ", ".join(f"{name} {rate:.1f} windows/s" for name, rate in rates.items()) + ".\n"
        )
        write_marked_section(args.results, header + "\n" + text + ("\n\n" + args.note if args.note else ""), BEGIN, END, "Speech benchmark (issue 10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
