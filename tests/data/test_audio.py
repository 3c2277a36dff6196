import warnings

import numpy as np
import pytest
import soundfile
import torch
from scipy.signal import resample_poly

from dirvae.data import AudioFolder, AudioIterator, ShortFileWarning, UnreadableFileWarning
from dirvae.errors import DataError

from .builders import sine, write_audio

RATE = 8000


def test_windows_are_the_file_cut_in_order(tmp_path, rng=np.random.default_rng(0)):
    data = rng.uniform(-0.9, 0.9, (1000, 1)).astype(np.float32)
    write_audio(tmp_path / "noise.wav", data, RATE, subtype="FLOAT")
    dataset = AudioFolder(tmp_path, sample_size=128, sample_rate=RATE)
    assert len(dataset) == 1000 // 128 and dataset.item_shape == (1, 128)
    for index in range(len(dataset)):
        window, label = dataset[index]
        assert label == -1 and window.dtype == torch.float32
        np.testing.assert_array_equal(window.numpy()[0], data[index * 128 : (index + 1) * 128, 0])
    assert dataset.describe(3) == "noise.wav#window=3"


def test_last_window_dropped_or_zero_padded(tmp_path):
    write_audio(tmp_path / "a.wav", sine(1000, RATE), RATE)
    assert len(AudioFolder(tmp_path, sample_size=300, sample_rate=RATE)) == 3
    padded = AudioFolder(tmp_path, sample_size=300, sample_rate=RATE, pad_last=True)
    assert len(padded) == 4
    last = padded[3][0].numpy()[0]
    assert np.abs(last[:100]).max() > 0.1 and not last[100:].any()


@pytest.mark.parametrize(
    "name, subtype, tolerance",
    [
        ("u8.wav", "PCM_U8", 1 / 64),
        ("s16.wav", "PCM_16", 1e-4),
        ("s24.wav", "PCM_24", 1e-6),
        ("s32.wav", "PCM_32", 1e-6),
        ("float.wav", "FLOAT", 1e-7),
        ("lossless.flac", "PCM_16", 1e-4),
        ("vorbis.ogg", "VORBIS", 0.05),
    ],
)
def test_each_format_reads_in_range(tmp_path, name, subtype, tolerance):
    data = sine(4000, RATE, frequency=200.0, amplitude=0.8)
    write_audio(tmp_path / name, data, RATE, subtype=subtype)
    dataset = AudioFolder(tmp_path, sample_size=1000, sample_rate=RATE)
    got = torch.cat([dataset[i][0] for i in range(len(dataset))], dim=1).numpy()[0]
    assert got.min() >= -1 and got.max() <= 1
    # seeking back (shuffled order) must give the same samples as reading on
    fresh = AudioFolder(tmp_path, sample_size=1000, sample_rate=RATE)
    backwards = [fresh[i][0].numpy()[0] for i in reversed(range(len(fresh)))][::-1]
    np.testing.assert_allclose(np.concatenate(backwards), got, atol=1e-6)
    if subtype == "VORBIS":  # lossy: compare shape, not samples
        assert np.corrcoef(got[500:3500], data[500:3500, 0])[0, 1] > 0.99
    else:
        np.testing.assert_allclose(got, data[: len(got), 0], atol=tolerance)


def test_float_samples_beyond_full_scale_are_clipped(tmp_path):
    write_audio(tmp_path / "loud.wav", np.full((64, 1), 3.0, dtype=np.float32), RATE, subtype="FLOAT")
    assert AudioFolder(tmp_path, sample_size=64, sample_rate=RATE)[0][0].max() == 1.0


def test_resampled_windows_match_resampling_the_whole_file(tmp_path):
    source_rate, target = 22050, 44100
    data = sine(5000, source_rate, frequency=1000.0) + sine(5000, source_rate, frequency=3100.0, amplitude=0.2)
    write_audio(tmp_path / "a.wav", data, source_rate, subtype="FLOAT")
    dataset = AudioFolder(tmp_path, sample_size=1024, sample_rate=target)
    assert len(dataset) == (5000 * 2) // 1024
    got = torch.cat([dataset[i][0] for i in range(len(dataset))], dim=1).numpy()[0]
    whole = resample_poly(data[:, 0], 2, 1)[: len(got)]
    np.testing.assert_allclose(got, whole, atol=1e-4)
    spectrum = np.abs(np.fft.rfft(got))
    assert np.fft.rfftfreq(len(got), 1 / target)[spectrum.argmax()] == pytest.approx(1000.0, abs=10)


def test_odd_ratio_resampling_is_seamless(tmp_path):
    # 48 kHz -> 44.1 kHz: up 147, down 160, windows start off the grid
    data = sine(9600, 48000, frequency=440.0)
    write_audio(tmp_path / "a.flac", data, 48000)
    dataset = AudioFolder(tmp_path, sample_size=500, sample_rate=44100)
    got = torch.cat([dataset[i][0] for i in range(len(dataset))], dim=1).numpy()[0]
    whole = resample_poly(data[:, 0].astype(np.float64), 147, 160)[: len(got)]
    np.testing.assert_allclose(got, whole, atol=2e-4)


def test_channels_mixed_selected_or_repeated(tmp_path):
    stereo = np.stack([np.full(256, 0.5), np.full(256, -0.25)], axis=1).astype(np.float32)
    write_audio(tmp_path / "stereo.wav", stereo, RATE, subtype="FLOAT")
    mono = AudioFolder(tmp_path, sample_size=256, sample_rate=RATE, channels=1)[0][0]
    assert mono.shape == (1, 256) and torch.allclose(mono, torch.tensor(0.125))
    both = AudioFolder(tmp_path, sample_size=256, sample_rate=RATE, channels=2)[0][0]
    assert both[0].eq(0.5).all() and both[1].eq(-0.25).all()
    right = AudioFolder(tmp_path, sample_size=256, sample_rate=RATE, channels=[1])[0][0]
    assert right.shape == (1, 256) and right.eq(-0.25).all()
    (tmp_path / "stereo.wav").unlink()
    write_audio(tmp_path / "mono.wav", np.full((256, 1), 0.3, dtype=np.float32), RATE, subtype="FLOAT")
    repeated = AudioFolder(tmp_path, sample_size=256, sample_rate=RATE, channels=2)[0][0]
    assert repeated.shape == (2, 256) and torch.allclose(repeated, torch.tensor(0.3))
    with pytest.warns(UnreadableFileWarning, match="mono.wav"), pytest.raises(DataError):
        AudioFolder(tmp_path, sample_size=256, sample_rate=RATE, channels=[1])


def test_windows_are_read_lazily(tmp_path, monkeypatch):
    write_audio(tmp_path / "long.wav", sine(RATE * 20, RATE), RATE)
    requested = []
    original = soundfile.SoundFile.read

    def spy(self, frames=-1, *args, **kwargs):
        requested.append(frames)
        return original(self, frames, *args, **kwargs)

    monkeypatch.setattr(soundfile.SoundFile, "read", spy)
    dataset = AudioFolder(tmp_path, sample_size=256, sample_rate=RATE)
    for index in (0, 300, 17, len(dataset) - 1):
        dataset[index]
    assert requested and all(0 < frames <= 256 for frames in requested)
    resampling = AudioFolder(tmp_path, sample_size=256, sample_rate=RATE * 2)
    requested.clear()
    resampling[200]
    assert all(0 < frames < 256 for frames in requested)  # half the window plus a margin


def encoded_folder(tmp_path, files=3, windows=4, size=32):
    """Window w of file f holds the constant (10 f + w) / 100."""
    for f in range(files):
        data = np.concatenate([np.full(size, (10 * f + w) / 100) for w in range(windows)]).astype(np.float32)
        write_audio(tmp_path / f"f{f}.wav", data[:, None], RATE, subtype="FLOAT")
    return tmp_path


def codes(batches):
    return [round(float(window.mean()) * 100) for batch in batches for window in batch]


def test_iterator_order_follows_the_seed(tmp_path):
    folder = encoded_folder(tmp_path)
    plain = codes(AudioIterator(folder, sample_size=32, batches=5, sample_rate=RATE))
    assert plain == [10 * f + w for f in range(3) for w in range(4)]
    for shuffle, shuffle_dir in [(True, False), (False, True), (True, True)]:
        file_orders, window_orders = set(), set()
        for seed in range(4):
            seen = codes(AudioIterator(folder, sample_size=32, batches=5, sample_rate=RATE, shuffle=shuffle,
                                       shuffle_dir=shuffle_dir, seed=seed))
            assert sorted(seen) == plain
            files = [code // 10 for code in seen]
            # a file's windows always come together, as in the seed
            assert all(len(set(files[k : k + 4])) == 1 for k in range(0, 12, 4))
            file_orders.add(tuple(files[::4]))
            window_orders.add(tuple(code % 10 for code in seen))
        assert (len(file_orders) > 1) == shuffle_dir
        assert (len(window_orders) > 1 or window_orders != {(0, 1, 2, 3) * 3}) == shuffle


def test_shuffle_all_mixes_files_in_every_batch(tmp_path):
    folder = encoded_folder(tmp_path, files=6, windows=4)
    grouped = [codes(AudioIterator(folder, sample_size=32, batches=4, sample_rate=RATE, shuffle=True,
                                   shuffle_dir=True, seed=seed)) for seed in range(3)]
    mixed = [codes(AudioIterator(folder, sample_size=32, batches=4, sample_rate=RATE, shuffle_all=True, seed=seed))
             for seed in range(3)]

    def files_per_batch(seen):
        return [len({code // 10 for code in seen[k : k + 4]}) for k in range(0, len(seen), 4)]

    assert all(files_per_batch(seen) == [1] * 6 for seen in grouped)  # the seed: one file per batch
    for seen in mixed:
        assert sorted(seen) == sorted(grouped[0])  # every window once per epoch
        assert sum(files_per_batch(seen)) > 6 * 2  # batches of 4 mostly hold 3-4 files
    assert len({tuple(seen) for seen in mixed}) == 3
    again = codes(AudioIterator(folder, sample_size=32, batches=4, sample_rate=RATE, shuffle_all=True, seed=1))
    assert again == mixed[1]


def test_shuffle_dir_order_varies_between_epochs_and_seeds(tmp_path):
    folder = encoded_folder(tmp_path, files=6, windows=1)
    iterator = AudioIterator(folder, sample_size=32, batches=6, sample_rate=RATE, shuffle_dir=True, seed=0)
    epochs = {tuple(codes(iterator)) for _ in range(5)}
    assert len(epochs) > 1
    again = AudioIterator(folder, sample_size=32, batches=6, sample_rate=RATE, shuffle_dir=True, seed=0)
    assert tuple(codes(again)) == tuple(codes(AudioIterator(folder, sample_size=32, batches=6, sample_rate=RATE,
                                                            shuffle_dir=True, seed=0)))


def test_bad_audio_files_are_refused_and_counted(tmp_path):
    write_audio(tmp_path / "good.wav", sine(2048, RATE), RATE)
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.flac").write_text("not audio at all\n" * 50)
    whole = (tmp_path / "good.wav").read_bytes()
    (tmp_path / "header_only.wav").write_bytes(whole[:44])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        iterator = AudioIterator(tmp_path, sample_size=512, batches=2, sample_rate=RATE)
    names = " ".join(str(w.message) for w in caught if issubclass(w.category, UnreadableFileWarning))
    for name in ("empty.wav", "text.flac", "header_only.wav"):
        assert name in names
    assert sum(batch.shape[0] for batch in iterator) == 4
    assert iterator.skipped == 3


def test_no_readable_audio_is_one_clear_error(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"RIFF....")
    with pytest.warns(UnreadableFileWarning), pytest.raises(DataError, match=r"no readable audio.*flac"):
        AudioFolder(tmp_path)
    (tmp_path / "a.wav").unlink()
    write_audio(tmp_path / "short.wav", sine(100, RATE), RATE)
    with pytest.raises(DataError, match=r"whole window.*--audio-size 1000.*--pad-last short"):
        AudioFolder(tmp_path, sample_size=1000, sample_rate=RATE, pad_last="none")


def test_short_files_are_padded_by_default_or_counted_and_named(tmp_path):
    write_audio(tmp_path / "long.wav", sine(2500, RATE), RATE)
    for name in ("s1.wav", "s2.wav", "s3.wav", "s4.wav"):
        write_audio(tmp_path / name, sine(400, RATE), RATE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # padding by default: nothing to warn about
        padded = AudioFolder(tmp_path, sample_size=1000, sample_rate=RATE)
    assert len(padded) == 2 + 4 and padded.too_short == 0  # long.wav keeps dropping its tail
    short = padded[2][0].numpy()[0]
    assert padded.describe(2) == "s1.wav#window=0" and np.abs(short[:400]).max() > 0.1 and not short[400:].any()
    assert len(AudioFolder(tmp_path, sample_size=1000, sample_rate=RATE, pad_last="all")) == 3 + 4
    with pytest.warns(ShortFileWarning) as caught:
        dropped = AudioFolder(tmp_path, sample_size=1000, sample_rate=RATE, pad_last="none")
    assert len(dropped) == 2 and dropped.too_short == 4
    (message,) = [str(w.message) for w in caught]
    assert "\n" not in message and "4 of 5 audio files are shorter than one window" in message
    assert "s1.wav, s2.wav, s3.wav and 1 more" in message and "--pad-last" in message and "--audio-size 1000" in message
    with pytest.raises(DataError, match="--pad-last must be one of none, short, all"):
        AudioFolder(tmp_path, sample_size=1000, sample_rate=RATE, pad_last="some")


def test_class_folders_label_every_window(tmp_path):
    write_audio(tmp_path / "speech" / "a.wav", sine(300, RATE), RATE)
    write_audio(tmp_path / "music" / "b.wav", sine(200, RATE), RATE)
    dataset = AudioFolder(tmp_path, sample_size=100, sample_rate=RATE)
    assert dataset.classes == ["music", "speech"]
    assert [dataset[i][1] for i in range(len(dataset))] == [0, 0, 1, 1, 1]
    assert dataset.describe(4) == "speech/a.wav#window=2"


def test_a_float_wav_with_a_nan_sample_is_skipped_and_counted(tmp_path):
    write_audio(tmp_path / "good.wav", sine(8000, 8000), 8000)
    samples = sine(8000, 8000, 330.0)
    samples[100, 0] = np.nan
    soundfile.write(tmp_path / "nan.wav", samples, 8000, subtype="FLOAT")
    dataset = AudioFolder(tmp_path, sample_size=2000, sample_rate=8000)
    with pytest.warns(UnreadableFileWarning, match="nan.wav.*non-finite"):
        items = [dataset[i] for i in range(len(dataset))]
    assert sum(item is None for item in items) == 4 and dataset.bad_files.names == ["nan.wav"]
    assert all(torch.isfinite(item[0]).all() for item in items if item is not None)


def test_mixed_training_reads_windows_in_runs_keeping_each_runs_file_open(tmp_path, monkeypatch):
    """The --shuffle-all default (issue 26): batches mix files, each file read forward in runs; a file is opened per run, not per window."""
    import dirvae.data.audio as audio_module
    from dirvae.data.samplers import RunBatchSampler
    from dirvae.training.data_module import DirvaeDataModule

    files, windows = 6, 40
    for f in range(files):  # window w of file f holds the constant (100 f + w) / 1000
        data = np.concatenate([np.full(32, (100 * f + w) / 1000) for w in range(windows)]).astype(np.float32)
        write_audio(tmp_path / f"f{f}.wav", data[:, None], RATE, subtype="FLOAT")
    opened = []
    original = audio_module.open_audio
    monkeypatch.setattr(audio_module, "open_audio", lambda path: opened.append(path) or original(path))
    dataset = AudioFolder(tmp_path, sample_size=32, sample_rate=RATE)
    loader = DirvaeDataModule(dataset, batch_size=16, mix_files=True, seed=0).train_dataloader()
    assert isinstance(loader.batch_sampler, RunBatchSampler)
    batches = [[round(float(window.mean()) * 1000) for window in batch.data] for batch in loader]
    seen = [code for batch in batches for code in batch]
    assert sorted(seen) == [100 * f + w for f in range(files) for w in range(windows)]  # every window once
    assert sum(len({code // 100 for code in batch}) for batch in batches[:-1]) / (len(batches) - 1) >= 4  # batches mix files
    runs = -(-windows // 32) * files + files  # at most two cuts a file per epoch, and a spare
    assert len(opened) <= runs < len(seen) / 4  # a file opened per run, not per window


def test_at_most_open_files_files_stay_open(tmp_path, monkeypatch):
    import dirvae.data.audio as audio_module

    for f in range(3):
        write_audio(tmp_path / f"f{f}.wav", sine(RATE, RATE), RATE)
    opened = []
    original = audio_module.open_audio
    monkeypatch.setattr(audio_module, "open_audio", lambda path: opened.append(path) or original(path))
    dataset = AudioFolder(tmp_path, sample_size=256, sample_rate=RATE)
    per_file = len(dataset) // 3
    order = [0, per_file, 2 * per_file, 1, per_file + 1, 2 * per_file + 1]  # files 0, 1, 2, 0, 1, 2
    for index in order:
        dataset[index]
    assert len(opened) == 6  # one open file (the default): every change of file reopens
    dataset, opened[:] = AudioFolder(tmp_path, sample_size=256, sample_rate=RATE), []
    dataset.open_files = 3
    for index in order:
        dataset[index]
    assert len(opened) == 3
