"""The contract every registered modality keeps: a folder of its kind trains, saves, loads and works with every tool.

A new modality registers in :data:`dirvae.modalities.MODALITIES` and adds a
builder here (tiny data of its kind and the flags that keep its run tiny);
the test then proves the whole path end to end through the command line.
"""

from pathlib import Path

import pytest
import torch

from dirvae import DirichletVAE
from dirvae.modalities import MODALITIES
from dirvae.runs.loading import load_run
from tests.cli.helpers import ok, write_audio, write_documents, write_images, write_video


def _images(folder: Path) -> list[str]:
    write_images(folder, n=8, size=16, classes=("a", "b"))
    return ["--image-size", "16"]


def _audio(folder: Path) -> list[str]:
    write_audio(folder, n=3, seconds=0.5, rate=8000)
    return ["--audio-size", "1024", "--sample-rate", "8000"]


def _video(folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("a", "b"):
        write_video(folder / f"{name}.mp4", frames=6, size=16)
    return ["--image-size", "16"]


def _text(folder: Path) -> list[str]:
    write_documents(folder, per_topic=12)
    return ["--min-df", "1"]


BUILDERS = {"image": _images, "audio": _audio, "video": _video, "text": _text}
"""Per modality: write a tiny folder of its data, return the flags that size its run."""


def test_every_registered_modality_has_a_builder():
    assert set(MODALITIES.names()) <= set(BUILDERS), "add a builder for each new modality"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_a_folder_trains_saves_loads_and_serves_every_tool(name, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIRVAE_CACHE", str(tmp_path / "cache"))
    spec = MODALITIES[name]
    data = tmp_path / "data"
    flags = BUILDERS[name](data)
    run = tmp_path / "run"
    ok(capsys, "train", "--type", name, "--data", data, "--run-dir", run, "--iterations", "3", "--batches", "2",
       "--model-size", "3", "--save-freq", "0", "--log-every", "1000", *flags)  # fmt: skip
    assert (run / "config.json").is_file() and (run / "model.safetensors").is_file()

    model, record = load_run(run)
    assert record.modality == name and record.spec is spec and record.training.iterations == 3
    assert record.progress["global_step"] == 3
    assert isinstance(DirichletVAE.from_pretrained(run), DirichletVAE)
    x = torch.zeros(1, *record.data.item_shape)
    assert model.reconstruct_in_chunks(x).shape == x.shape

    outputs = tmp_path / "out"
    for tool, extra in (("sample", ["--n", "2"]), ("reconstruct", [data, "--limit", "2"])):
        out = outputs / Path(spec.default_outputs[tool]).name
        ok(capsys, tool, run, *extra, "--out", out)
        assert out.exists(), tool
    ok(capsys, "encode", run, data, "--out", outputs / "latents.csv")
    assert len((outputs / "latents.csv").read_text().splitlines()) > 1
    report = ok(capsys, "evaluate", run, data, "--nll-samples", "2", "--limit", "4", "--json", "--out-dir", outputs)
    assert '"nll"' in report.stdout
