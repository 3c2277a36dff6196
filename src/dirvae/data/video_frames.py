"""Frame-accurate random access into a video file.

Seeking in a video lands on a keyframe, not on the frame asked for, and
timestamps are the only reliable frame identity (B-frames arrive out of
order, some containers have no frame rate).  So a file is first indexed by
demuxing its packets (no decoding): the sorted presentation timestamps are
the frames, in order.  Frame i is then found by seeking to the last keyframe
at or before its timestamp and decoding forward until that exact timestamp
comes out.  Reading on from the previous frame skips the seek, so the
unshuffled order costs one decode per frame.
"""

from __future__ import annotations

import os

import av
import numpy as np


def single_threaded(stream: av.video.stream.VideoStream) -> None:
    """Decode on the calling thread only.

    FFmpeg's default slice threads (in decoders and in the scaler, hence
    ``threads=1`` wherever frames are converted) make a forked DataLoader
    worker hang: the worker inherits FFmpeg objects whose threads did not
    survive the fork, and freeing one waits forever on their condition
    variable.  Workers give the parallelism instead, one decoder per process.
    """
    context = stream.codec_context
    context.thread_type = "NONE"
    context.thread_count = 1


def count_frames(path: str | os.PathLike) -> int:
    """Frames of a file's first video stream, cheaply: header count or packets.

    The first frame is decoded too, so a file FFmpeg cannot decode is refused
    when listing rather than on every frame later.
    """
    with av.open(os.fspath(path)) as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        single_threaded(stream)
        frames = int(stream.frames or 0)
        if frames <= 0:
            frames = sum(1 for packet in container.demux(stream) if packet.size)
            container.seek(0)
        for _ in container.decode(stream):
            break
        else:
            raise ValueError("no decodable frame")
    if frames <= 0:
        raise ValueError("no video frames")
    return frames


class FrameReader:
    """An open video file that returns frame i exactly, in any order."""

    # How many keyframes further back to try when a seek lands after the
    # target, before decoding from the very start.
    _RETRIES = 2

    def __init__(self, path: str | os.PathLike, index: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.path = os.fspath(path)
        self.container = av.open(self.path)
        if not self.container.streams.video:
            self.container.close()
            raise ValueError("no video stream")
        self.stream = self.container.streams.video[0]
        single_threaded(self.stream)
        try:
            self.pts, self.keyframes = index if index is not None else self._index()
        except Exception:
            self.container.close()
            raise
        self._frames = None  # the running decoder, or None before the first seek
        self._position: int | None = None  # pts of the last frame decoded

    def _index(self) -> tuple[np.ndarray, np.ndarray]:
        stamps, keys = set(), set()
        for packet in self.container.demux(self.stream):
            if not packet.size:
                continue
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None:
                raise ValueError("packets without timestamps")
            stamps.add(int(stamp))
            if packet.is_keyframe:
                keys.add(int(stamp))
        pts = np.array(sorted(stamps), dtype=np.int64)
        if len(pts) == 0:
            raise ValueError("no video packets")
        keyframes = np.array(sorted(keys), dtype=np.int64) if keys else pts[:1].copy()
        return pts, keyframes

    @property
    def index(self) -> tuple[np.ndarray, np.ndarray]:
        """(frame timestamps, keyframe timestamps): reusable when reopening."""
        return self.pts, self.keyframes

    def __len__(self) -> int:
        return len(self.pts)

    def close(self) -> None:
        self.container.close()

    def behind(self, index: int) -> int | None:
        """How far (in timestamp units) this reader's decoder stands before frame ``index``; None if at or past it.

        Of several readers of one file, the one nearest behind a frame reaches
        it by decoding forward, without a seek.
        """
        if self._frames is None or self._position is None:
            return None
        gap = int(self.pts[index]) - self._position
        return gap if gap > 0 else None

    def read(self, index: int) -> av.VideoFrame:
        """Decode and return frame ``index`` (0-based, presentation order)."""
        if not 0 <= index < len(self.pts):
            raise IndexError(f"frame {index} beyond the {len(self.pts)} frames of {self.path}")
        target = int(self.pts[index])
        key = self._keyframe_at_or_before(target)
        if self._frames is not None and self._position is not None and key <= self._position < target:
            frame = self._decode_until(target)
            if frame is not None:
                return frame
        seeks = [key]
        position = int(np.searchsorted(self.keyframes, key, side="left"))
        seeks += [int(k) for k in self.keyframes[max(0, position - self._RETRIES) : position][::-1]]
        seeks.append(None)  # from the very start of the file
        for start in seeks:
            self._seek(start)
            frame = self._decode_until(target)
            if frame is not None:
                return frame
        raise LookupError(f"frame {index} (timestamp {target}) could not be decoded from {self.path}")

    def _keyframe_at_or_before(self, target: int) -> int:
        position = int(np.searchsorted(self.keyframes, target, side="right")) - 1
        return int(self.keyframes[max(position, 0)])

    def _seek(self, stamp: int | None) -> None:
        if stamp is None:
            self.container.seek(0)
        else:
            self.container.seek(stamp, stream=self.stream, backward=True, any_frame=False)
        self._frames = self.container.decode(self.stream)
        self._position = None

    def _decode_until(self, target: int) -> av.VideoFrame | None:
        """Decode forward to the frame stamped ``target``; None if it is passed."""
        assert self._frames is not None
        for frame in self._frames:
            stamp = frame.pts
            if stamp is None:
                continue
            self._position = int(stamp)
            if stamp == target:
                return frame
            if stamp > target:
                return None
        self._frames = None
        return None
