"""Video: a folder of clips (any container and codec FFmpeg reads); every frame is an item.

Frames train through the picture models with the photo defaults.  A clip's
frames are near copies of each other, so validation holds out whole files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator

from torch import Tensor
from torch.utils.data import Dataset

from dirvae.data.formats import VIDEO_EXTENSIONS
from dirvae.data.payloads import decode_clip
from dirvae.data.video import VideoFolder, frame_to_tensor
from dirvae.data.video_frames import FrameReader
from dirvae.errors import DataError
from dirvae.losses.reconstruction import default_loss_options
from dirvae.modalities.image import PHOTO_RECONSTRUCTION
from dirvae.modalities.pictures import PICTURE_ARCHITECTURES, PictureData, PictureOutputs, picture_data
from dirvae.modalities.spec import DataConfig, Modality


@dataclass(frozen=True)
class VideoData(PictureData):
    modality: ClassVar[str] = "video"


class VideoModality(PictureOutputs, Modality):
    name: ClassVar[str] = "video"
    summary: ClassVar[str] = "clips, every frame an item"
    extensions: ClassVar[frozenset[str]] = VIDEO_EXTENSIONS
    reader: ClassVar[type[Dataset]] = VideoFolder
    data_config: ClassVar[type[DataConfig]] = VideoData
    architectures: ClassVar[tuple[str, ...]] = PICTURE_ARCHITECTURES
    item_key: ClassVar[str | None] = "frame"
    holds_out_files: ClassVar[bool] = True
    mixes_files: ClassVar[bool] = True
    default_outputs: ClassVar[dict[str, str]] = {**PictureOutputs.default_outputs, "interpolate": "interpolation.mp4"}
    output_kinds: ClassVar[dict[str, tuple[str, ...]]] = {
        **PictureOutputs.output_kinds, "interpolate": ("movie", "gif", "picture", "folder"),
    }  # fmt: skip

    def data_from_options(self, options: Any, source: str) -> VideoData:
        return picture_data(VideoData, options, source)

    def open(self, data: DataConfig) -> Dataset:
        return VideoFolder(data.source, image_size=data.image_size, grayscale=data.grayscale)

    def read_file(self, data: DataConfig, path: Path, start: int, count: int | None) -> Iterator[Tensor]:
        reader = FrameReader(path)
        try:
            frames = len(reader)
            if start >= frames:
                raise DataError(f"{path}#frame={start}: the file has {frames} frame(s)")
            stop = frames if count is None else min(frames, start + count)
            for number in range(start, stop):
                yield frame_to_tensor(reader.read(number), data.image_size, data.grayscale)
        finally:
            reader.close()

    def decode(self, data: DataConfig, payload: bytes, extension: str) -> list[Tensor]:
        return decode_clip(payload, data.image_size, data.grayscale)

    def default_reconstruction(self, data: DataConfig, architecture: str) -> tuple[str, dict[str, Any]]:
        return PHOTO_RECONSTRUCTION, default_loss_options(PHOTO_RECONSTRUCTION, data.item_shape)
