import os
import pickle

import numpy as np
import pytest
import soundfile
from PIL import Image

from dirvae.data import IMAGE_EXTENSIONS, PathList, detect_modality
from dirvae.data.files import list_files, walk_files
from dirvae.errors import DataError

from .builders import write_video


def touch(path, content=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def test_path_list_round_trips_any_name():
    names = ["a.png", "dir/b.jpg", "ünïcødé/ç.png", "x" * 300 + ".png", os.fsdecode(b"bad\xffbyte.png")]
    paths = PathList(names)
    assert list(paths) == names and len(paths) == 5
    assert paths[-1] == names[-1] and paths[1:3] == names[1:3]
    assert pickle.loads(pickle.dumps(paths))[2] == names[2]
    with pytest.raises(IndexError):
        paths[5]
    # one buffer: a few bytes a name, not a Python object per name
    assert paths.nbytes < sum(len(os.fsencode(n)) for n in names) + 8 * 6 + 1


def test_walk_is_recursive_skips_hidden_and_survives_link_loops(tmp_path):
    touch(tmp_path / "a.png")
    touch(tmp_path / "deep" / "er" / "b.png")
    touch(tmp_path / ".hidden" / "c.png")
    touch(tmp_path / "._d.png")
    os.symlink(tmp_path, tmp_path / "deep" / "loop")
    os.mkfifo(tmp_path / "fifo.png")  # opening it would block
    assert sorted(walk_files(tmp_path)) == ["a.png", "deep/er/b.png"]


def test_listing_is_sorted_filtered_and_unlabelled_without_class_folders(tmp_path):
    for name in ["b.png", "a.JPG", "notes.txt", "sub/c.webp"]:
        touch(tmp_path / name)
    listing = list_files(tmp_path, IMAGE_EXTENSIONS)
    assert list(listing.paths) == ["a.JPG", "b.png", "sub/c.webp"]
    assert listing.labels is None and listing.classes == [] and listing.label(0) == -1


def test_class_folders_need_two_and_no_loose_files(tmp_path):
    touch(tmp_path / "only" / "a.png")
    assert list_files(tmp_path, IMAGE_EXTENSIONS).classes == []  # one folder is a layout
    touch(tmp_path / "other" / "deep" / "b.png")
    touch(tmp_path / "empty_class" / "readme.txt")
    listing = list_files(tmp_path, IMAGE_EXTENSIONS)
    assert listing.classes == ["only", "other"]
    assert listing.labels.tolist() == [0, 1]
    touch(tmp_path / "loose.png")
    assert list_files(tmp_path, IMAGE_EXTENSIONS).classes == []
    with pytest.raises(DataError, match="one sub-folder per class"):
        list_files(tmp_path, IMAGE_EXTENSIONS, labels=True)


def test_detect_modality_by_majority(tmp_path):
    assert detect_modality(tmp_path / "missing") is None
    assert detect_modality(tmp_path) is None
    Image.new("RGB", (4, 4)).save(tmp_path / "one.png")
    assert detect_modality(tmp_path) == "image"
    for k in range(2):
        soundfile.write(tmp_path / f"{k}.flac", np.zeros(10), 8000)
    assert detect_modality(tmp_path) == "audio"
    for k in range(3):
        write_video(tmp_path / f"{k}.mkv", "mpeg4", 1)
    assert detect_modality(tmp_path) == "video"
