import json
import pickle
import sys

import numpy as np
import pytest
import soundfile
import torch

from dirvae import DirichletVAE
from dirvae.model import DirichletVAE
from dirvae.errors import DataError, DirvaeError, RunError
from dirvae.modalities.audio import AudioData
from dirvae.modalities.image import ImageData
from dirvae.modalities.opening import open_dataset
from dirvae.runs import (
    RunConfig,
    iter_batches,
    load_inputs,
    load_run,
    parse_input,
    pick_device,
    read_inputs,
    representative_item,
    spread_inputs,
)
from tests.cli.helpers import write_audio, write_images, write_video


def _config(modality="image", **data):
    """A run's config.json contents (format 2: a data section holds only its modality's fields)."""
    if modality == "audio":
        shape, options = [1, 256], {"input_shape": [1, 256], "model_size": 3, "hidden": [8]}
        base = {"item_shape": shape, "sample_size": 256, "sample_rate": 8000, "pad_last": "short"}
    else:
        shape, options = [3, 8, 8], {"input_shape": [3, 8, 8], "model_size": 3, "hidden": [8]}
        base = {"item_shape": shape, "image_size": 8, "grayscale": False}
    return {
        "format": "dirvae-run/2",
        "modality": modality,
        "architecture": {"name": "mlp", "options": options},
        "model": {"model_size": 3, "reconstruction": "bernoulli" if modality != "audio" else "mse", "prior_alpha": 0.5},
        "data": {**base, "source": "test", **data},
    }


def _format_1(modality="image", **data):
    """The same run as format 1 wrote it: every modality's data fields, null where they did not apply
    (and no pad_last for audio: runs saved before --pad-last)."""
    config = _config(modality)
    if modality == "audio":
        del config["data"]["pad_last"]
        config["data"].update(image_size=None, grayscale=None)
    else:
        config["data"].update(sample_rate=None, sample_size=None)
    config["data"].update(data)
    return dict(config, format="dirvae-run/1")


def _run(config):
    return RunConfig.from_dict(config)


def _make_run(path, modality="image"):
    torch.manual_seed(0)
    config = _config(modality)
    model = DirichletVAE.from_run_config(config)
    model(torch.rand(2, *config["data"]["item_shape"]))  # fixes the latent shape, moves the weights off their init
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    model.prior_alpha.fill_(0.7)
    model.eval().save_pretrained(path, extra=config)
    return model.eval(), config


def test_from_pretrained_round_trips_to_identical_outputs(tmp_path):
    model, _ = _make_run(tmp_path)
    loaded = DirichletVAE.from_pretrained(tmp_path)
    x = torch.rand(4, 3, 8, 8)
    assert torch.equal(loaded.encode(x).concentration, model.encode(x).concentration)
    assert torch.equal(loaded.decode(model.encode(x).mean), model.decode(model.encode(x).mean))
    torch.manual_seed(3)
    expected = model.sample(5)
    torch.manual_seed(3)
    assert torch.equal(loaded.sample(5), expected)
    assert torch.equal(loaded.interpolate(x[:1], x[1:2], 4), model.interpolate(x[:1], x[1:2], 4))
    assert torch.equal(loaded.traverse(3), model.traverse(3))
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    assert not loaded.training


def test_loading_never_unpickles(tmp_path, monkeypatch):
    _make_run(tmp_path)
    # A pickle that would leave a mark if anything unpickled it, where a checkpoint would be.
    marker = tmp_path / "unpickled"

    class Mark:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(pickle.dumps(Mark()))
    torch.save({"x": 1}, tmp_path / "model.pt")

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    for module, name in [(pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load")]:
        monkeypatch.setattr(module, name, refuse)
    found_classes = []
    watching = [True]

    def audit(event, args):
        if watching[0] and event == "pickle.find_class":
            found_classes.append(args)

    sys.addaudithook(audit)  # hooks cannot be removed: this one stops recording below
    try:
        model, _ = load_run(tmp_path, "cpu")
        DirichletVAE.from_pretrained(tmp_path)
    finally:
        watching[0] = False
    assert not found_classes and not marker.exists()
    assert isinstance(model, DirichletVAE)


def test_load_run_checks_the_configuration(tmp_path):
    _make_run(tmp_path)
    model, run = load_run(tmp_path, "auto")
    assert run.modality == "image" and model.prior_alpha.device.type in ("cpu", "cuda")
    path = tmp_path / "config.json"
    good = json.loads(path.read_text())
    for change, message in [
        ({"image_size": 16}, "data.image_size is 16"),
        ({"image_size": 16, "item_shape": [3, 16, 16]}, "networks do not take data.item_shape"),
        ({"grayscale": True}, "data.grayscale"),
        ({"item_shape": [3, 8]}, "item_shape"),
    ]:
        broken = json.loads(json.dumps(good))
        broken["data"].update(change)
        path.write_text(json.dumps(broken))
        with pytest.raises(RunError, match="mismatched configuration") as error:
            load_run(tmp_path, "cpu")
        assert message in str(error.value)
    broken = dict(good, modality="smell")
    path.write_text(json.dumps(broken))
    with pytest.raises(RunError, match="unknown modality"):
        load_run(tmp_path, "cpu")


def test_run_config_checks_audio_data():
    assert _run(_config("audio")).data.sample_size == 256
    with pytest.raises(RunError, match="mismatched configuration: .*sample_size"):
        _run(_config("audio", sample_size=512))
    with pytest.raises(RunError, match="mismatched configuration: .*sample_rate"):
        _run(_config("audio", sample_rate=None))
    # A format-1 file wrote the same section with the other modalities' fields as nulls.
    assert _run(_format_1("audio")).data.sample_rate == 8000


def test_pick_device():
    assert pick_device(None).type == pick_device("auto").type
    assert pick_device("cpu") == torch.device("cpu")
    with pytest.raises(DirvaeError, match="not a device"):
        pick_device("toaster")
    if not torch.cuda.is_available():
        with pytest.raises(DirvaeError, match="CUDA is not available"):
            pick_device("cuda:0")


def test_parse_input(tmp_path):
    assert parse_input("a.mp4#frame=3") == (parse_input("a.mp4")[0], 3)
    assert parse_input("a.wav#window=0")[1] == 0
    assert parse_input("digits#12")[1] == 12
    odd = tmp_path / "odd#1.png"
    odd.write_bytes(b"")
    assert parse_input(odd) == (odd, None)  # an existing path is taken as typed


@pytest.mark.parametrize(
    "text, message",
    [
        ("clip.mp4#window=3", r"clip.mp4#window=3: a video file has no #window=; pick its items with clip.mp4#frame=3"),
        ("tone.wav#frame=2", r"tone.wav#frame=2: an audio file has no #frame=; pick its items with tone.wav#window=2"),
        ("tone.mp3#item=1", r"an audio file has no #item="),
        ("digits#frame=1", r"a folder has no #frame=; pick its items with digits#item=1"),
    ],
)
def test_a_selector_must_fit_the_file(text, message):
    run = _image_config()  # digits names the embedded set of an image run
    with pytest.raises(DataError, match=message):
        parse_input(text, run)
    assert parse_input(text.split("#")[0] + "#" + text.split("=")[1], run)[1] == int(text.split("=")[1])  # #N always works


def test_limit_is_spread_over_the_inputs(tmp_path):
    sounds = write_audio(tmp_path / "sounds", n=3, seconds=0.2, rate=8000)  # 6 windows each
    audio = _run(_config("audio"))
    files = [sounds / f"tone{i}.wav" for i in range(3)]
    batch, names, truncated = spread_inputs(audio, files[:2], limit=4)
    assert truncated and [n.split("#")[0][-9:] for n in names] == ["tone0.wav"] * 2 + ["tone1.wav"] * 2
    _, names, _ = spread_inputs(audio, files, limit=16)  # 16 = 6 + 5 + 5
    assert [sum(n.startswith(str(f)) for n in names) for f in files] == [6, 5, 5]
    _, names, truncated = spread_inputs(audio, [f"{files[0]}#window=2", files[1]], limit=16)
    assert not truncated and len(names) == 7  # one picked window leaves 15 for the other file's 6


def test_the_representative_item_of_an_audio_file_is_its_loudest_window(tmp_path):
    loud = np.zeros(1600)
    loud[800:1024] = 0.8 * np.sin(np.arange(224))  # inside window 3 of 256 samples
    soundfile.write(tmp_path / "late.wav", loud, 8000)
    audio = _run(_config("audio"))
    tensor, name, chosen = representative_item(audio, tmp_path / "late.wav")
    assert chosen and name.endswith("late.wav#window=3") and tensor.abs().max() > 0.5
    _, name, chosen = representative_item(audio, f"{tmp_path / 'late.wav'}#window=1")
    assert not chosen and name.endswith("#window=1")


# ---------------------------------------------------------------- the data path
def _image_dict(size=8):
    config = _config()
    config["data"].update(image_size=size, item_shape=[3, size, size])
    return config


def _image_config(size=8):
    return _run(_image_dict(size))


def dataset_for_run(run, directory):
    """A folder read like the run's training data: its data section at another source."""
    return open_dataset(run.data.at(directory))


def test_single_files_are_preprocessed_exactly_like_folders(tmp_path):
    images = write_images(tmp_path / "pics", n=3, size=20)
    config = _image_config()
    folder = dataset_for_run(config, images)
    batch, names = read_inputs(config, [images / "img001.png"])
    assert torch.equal(batch[0], folder[1][0]) and names == [str(images / "img001.png")]

    sounds = write_audio(tmp_path / "sounds", n=1, seconds=0.2, rate=8000)  # 1600 frames
    audio = _run(_config("audio"))
    folder = dataset_for_run(audio, sounds)
    batch, names = read_inputs(audio, [sounds / "tone0.wav"])
    assert batch.shape == (6, 1, 256) and len(folder) == 6
    assert all(torch.equal(batch[i], folder[i][0]) for i in range(6))
    assert names[2] == f"{sounds / 'tone0.wav'}#window=2"

    video = write_video(tmp_path / "clips" / "a.mp4", frames=5, size=24)
    vconfig = _run(dict(_image_dict(), modality="video"))
    folder = dataset_for_run(vconfig, video.parent)
    batch, names = read_inputs(vconfig, [video])
    assert batch.shape == (5, 3, 8, 8) and names[4].endswith("a.mp4#frame=4")
    assert all(torch.equal(batch[i], folder[i][0]) for i in range(5))


def test_selectors_limits_and_short_files(tmp_path):
    sounds = write_audio(tmp_path / "sounds", n=2, seconds=0.2, rate=8000)
    audio = _run(_config("audio"))
    batch, names = read_inputs(audio, [f"{sounds / 'tone1.wav'}#window=4", sounds], limit=3)
    assert names == [f"{sounds / 'tone1.wav'}#window=4", "tone0.wav#window=0", "tone0.wav#window=1"]
    with pytest.raises(DataError, match="has 6 window"):
        read_inputs(audio, [f"{sounds / 'tone1.wav'}#window=6"])
    short = tmp_path / "short.wav"
    soundfile.write(short, np.full(100, 0.5), 8000)
    batch, _ = read_inputs(audio, [short])
    assert batch.shape == (1, 1, 256) and batch[0, 0, 99] == pytest.approx(0.5, abs=1e-3) and batch[0, 0, 100] == 0
    # Resampled on the way in, like training.
    soundfile.write(tmp_path / "fast.wav", np.zeros(1600), 16000)
    assert read_inputs(audio, [tmp_path / "fast.wav"])[0].shape == (3, 1, 256)


def test_load_inputs_keeps_its_behaviour(tmp_path):
    images = write_images(tmp_path / "pics", n=2, size=12)
    sounds = write_audio(tmp_path / "sounds", n=1, seconds=0.2, rate=8000)
    batch, names = load_inputs(_image_config(), [images / "img000.png", images])
    assert batch.shape == (3, 3, 8, 8) and names == ["img000.png", "img000.png", "img001.png"]
    batch, names = load_inputs(_run(_config("audio")), [sounds / "tone0.wav", f"{sounds / 'tone0.wav'}#3"])
    assert batch.shape == (2, 1, 256) and names == ["tone0.wav", "tone0.wav#window=3"]
    assert not list(tmp_path.glob("tmp*"))


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("a.wav", None, "is an audio file, but this run models image"),
        ("a.png", b"not a png", "unreadable or corrupt image file"),
        ("a.xyz", b"text", "not an image file"),
        ("missing.png", "missing", "no such file"),
    ],
)
def test_bad_single_files(tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:
        soundfile.write(path, np.zeros(100), 8000)
    elif content != "missing":
        path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_inputs(_image_config(), [path])


def test_bad_audio_and_video_files(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"RIFF nonsense")
    (tmp_path / "a.mp4").write_bytes(b"nonsense")
    with pytest.raises(DataError, match="unreadable or corrupt audio file"):
        read_inputs(_run(_config("audio")), [tmp_path / "a.wav"])
    with pytest.raises(DataError, match="unreadable or corrupt video file"):
        read_inputs(_run(dict(_image_dict(), modality="video")), [tmp_path / "a.mp4"])


def test_batches_keep_names_aligned_when_files_are_skipped(tmp_path):
    images = write_images(tmp_path / "pics", n=5, size=12)
    (images / "img002.png").write_bytes(b"broken")
    with pytest.warns(UserWarning, match="img002.png"):
        batches = list(iter_batches(_image_config(), images, batch_size=2))
    names = [name for _, batch_names in batches for name in batch_names]
    assert names == ["img000.png", "img001.png", "img003.png", "img004.png"]
    folder = dataset_for_run(_image_config(), images)
    assert torch.equal(batches[-1][0][-1], folder[4][0])


def test_the_data_section_reproduces_training(tmp_path):
    """What data_options gave before the typed record: the run's data section, as its modality's readers take it."""
    assert _image_config().data == ImageData("test", (3, 8, 8), image_size=8, grayscale=False)
    # A run saved before --pad-last dropped short files; a newer one says what it did.
    old = _run(_format_1("audio")).data
    assert old == AudioData("test", (1, 256), sample_rate=8000, sample_size=256, pad_last="none")
    assert _run(_format_1("audio", pad_last="short")).data.pad_last == "short"
    assert _run(_config("audio", pad_last="all")).data.pad_last == "all"
    # ... and the folder opens with those options.
    sounds = write_audio(tmp_path / "sounds", n=1, seconds=0.2, rate=8000)
    folder = dataset_for_run(_run(_format_1("audio")), sounds)
    assert (folder.sample_size, folder.sample_rate, folder.channels, folder.pad_last) == (256, 8000, 1, "none")
    # A format-1 picture section without grayscale reads it from the item shape.
    gray = _format_1(grayscale=None, item_shape=[1, 8, 8])
    data = _run(dict(gray, modality="video")).data
    assert (data.modality, data.image_size, data.grayscale) == ("video", 8, True)
