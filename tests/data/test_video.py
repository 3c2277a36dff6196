import random
import warnings

import numpy as np
import pytest
from torch.utils.data import DataLoader

from dirvae.data import UnreadableFileWarning, VideoFolder, VideoIterator, collate_batch, make_loader
from dirvae.errors import DataError

from .builders import VIDEO_KINDS, read_code, write_video

FRAMES = 20


@pytest.fixture(scope="module")
def video_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    for name, (codec, options) in VIDEO_KINDS.items():
        write_video(folder / name, codec, FRAMES, options)
    return folder


def test_listing_counts_every_frame_of_every_container(video_dir):
    dataset = VideoFolder(video_dir, image_size=64)
    assert len(dataset) == FRAMES * len(VIDEO_KINDS)
    assert dataset.file_frames.tolist() == [FRAMES] * len(VIDEO_KINDS)
    assert dataset.item_shape == (3, 64, 64)
    assert dataset.describe(FRAMES + 3) == f"{sorted(VIDEO_KINDS)[1]}#frame=3"


def test_frames_are_exact_in_shuffled_order(video_dir):
    dataset = VideoFolder(video_dir, image_size=64)
    order = list(range(len(dataset)))
    random.Random(7).shuffle(order)
    for index in order:
        tensor, label = dataset[index]
        assert label == -1
        assert tensor.shape == (3, 64, 64) and 0 <= tensor.min() and tensor.max() <= 1
        _, frame = dataset.locate(index)
        assert read_code(tensor) == frame, dataset.describe(index)


def test_frames_are_exact_in_order_and_backwards(video_dir):
    dataset = VideoFolder(video_dir, image_size=64)
    for index in list(range(len(dataset))) + list(reversed(range(len(dataset)))):
        assert read_code(dataset[index][0]) == dataset.locate(index)[1], dataset.describe(index)


def test_iterator_with_workers_and_resizing(video_dir):
    iterator = VideoIterator(video_dir, batches=7, shuffle=True, shuffle_dir=True, image_size=32, num_workers=2, seed=1)
    batches = list(iterator)
    assert sum(b.shape[0] for b in batches) == FRAMES * len(VIDEO_KINDS)
    assert all(b.shape[1:] == (3, 32, 32) for b in batches)
    assert iterator.skipped == 0
    gray = VideoFolder(video_dir, image_size=16, grayscale=True)
    assert gray[5][0].shape == (1, 16, 16)


def test_workers_forked_after_decoding_in_the_parent_do_not_hang(video_dir):
    dataset = VideoFolder(video_dir, image_size=16)
    for index in range(0, len(dataset), 7):  # leaves decoders open in this process
        dataset[index]
    loader = DataLoader(dataset, batch_size=8, num_workers=2, collate_fn=collate_batch, timeout=60)
    assert sum(batch.data.shape[0] for batch in loader) == len(dataset)


def test_native_size_frames(video_dir):
    dataset = VideoFolder(video_dir, image_size=None)
    assert dataset.item_shape is None and dataset[0][0].shape == (3, 64, 64)


def test_broken_videos_are_refused_with_a_warning(tmp_path):
    write_video(tmp_path / "good.mp4", "mpeg4", 5)
    (tmp_path / "empty.mkv").write_bytes(b"")
    (tmp_path / "noise.avi").write_bytes(np.random.default_rng(0).bytes(5000))
    whole = (tmp_path / "good.mp4").read_bytes()
    (tmp_path / "cut.webm").write_bytes(whole[:100])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        iterator = VideoIterator(tmp_path, batches=2, image_size=16)
    names = " ".join(str(w.message) for w in caught if issubclass(w.category, UnreadableFileWarning))
    assert all(name in names for name in ("empty.mkv", "noise.avi", "cut.webm"))
    assert sum(b.shape[0] for b in iterator) == 5
    assert iterator.skipped == 3


def test_no_readable_video_is_one_clear_error(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"\x00" * 100)
    with pytest.warns(UnreadableFileWarning), pytest.raises(DataError, match=r"no readable video.*webm"):
        VideoFolder(tmp_path)
    with pytest.raises(DataError, match="no such directory"):
        VideoFolder(tmp_path / "nope")


def test_class_folders_label_frames(tmp_path):
    write_video(tmp_path / "walk" / "a.avi", "mjpeg", 3)
    write_video(tmp_path / "run" / "b.avi", "mjpeg", 2)
    dataset = VideoFolder(tmp_path, image_size=8)
    assert dataset.classes == ["run", "walk"]
    assert [dataset[i][1] for i in range(len(dataset))] == [0, 0, 1, 1, 1]
    batch = next(iter(make_loader(dataset, 5)))
    assert batch.labels.tolist() == [0, 0, 1, 1, 1]
