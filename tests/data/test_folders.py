import numpy as np
import pytest
import soundfile
from PIL import Image

from dirvae.data import AudioFolder, ImageFolder, VideoFolder
from dirvae.errors import DataError
from dirvae.modalities import MODALITIES, open_folder

from .builders import write_video


def test_open_folder_picks_the_dataset_and_passes_options(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    dataset = open_folder(tmp_path, "image", image_size=4, grayscale=True)
    assert isinstance(dataset, ImageFolder) and dataset.item_shape == (1, 4, 4)
    assert isinstance(open_folder(tmp_path, None), ImageFolder)  # guessed
    with pytest.raises(DataError, match="sample_rate.*image"):
        open_folder(tmp_path, "image", sample_rate=8000)
    with pytest.raises(DataError, match="unknown modality"):
        open_folder(tmp_path, "smell")


def test_open_folder_for_each_modality(tmp_path):
    (tmp_path / "audio").mkdir()
    soundfile.write(tmp_path / "audio" / "a.wav", np.zeros(64), 8000)
    write_video(tmp_path / "video" / "v.avi", "mjpeg", 2)
    audio = open_folder(tmp_path / "audio", "audio", sample_size=32, sample_rate=8000)
    assert isinstance(audio, AudioFolder) and len(audio) == 2 and audio.modality == "audio"
    video = open_folder(tmp_path / "video", "video", image_size=8)
    assert isinstance(video, VideoFolder) and len(video) == 2 and video.modality == "video"


def test_wrong_modality_and_missing_folder_errors(tmp_path):
    soundfile.write(tmp_path / "a.wav", np.zeros(64), 8000)
    with pytest.raises(DataError, match=r"no image file found; it seems to hold audio files.*jpeg"):
        open_folder(tmp_path, "image")
    with pytest.raises(DataError, match="no such directory"):
        open_folder(tmp_path / "missing", "audio")
    with pytest.raises(DataError, match="no such directory"):
        open_folder(tmp_path / "missing", None)
    (tmp_path / "a.wav").unlink()
    with pytest.raises(DataError, match=f"no {', '.join(MODALITIES.names())} file found"):  # every registered modality
        open_folder(tmp_path, None)
