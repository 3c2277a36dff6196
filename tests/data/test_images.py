import os
import warnings

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from dirvae.data import ImageFolder, ImageIterator, UnreadableFileWarning, load_image
from dirvae.data.pixels import fit
from dirvae.errors import DataError

from .builders import png_bomb, write_broken_images, write_format_images


def test_every_format_reads_as_its_colour(tmp_path):
    expected = write_format_images(tmp_path)
    dataset = ImageFolder(tmp_path, image_size=8)
    assert sorted(dataset.paths) == sorted(expected)
    for index in range(len(dataset)):
        item = dataset[index]
        assert item is not None, dataset.describe(index)
        tensor, label = item
        assert label == -1
        assert tensor.shape == (3, 8, 8) and tensor.dtype == torch.float32
        assert tensor.is_contiguous()
        colour = tensor.mean(dim=(1, 2)).numpy()
        want = np.array(expected[dataset.describe(index)])
        # JPEG chroma quantisation allows a few levels of error, nothing more
        np.testing.assert_allclose(colour, want, atol=6 / 255, err_msg=dataset.describe(index))


def test_grayscale_and_native_size(tmp_path):
    Image.new("RGB", (30, 20), (255, 0, 0)).save(tmp_path / "red.png")
    Image.new("RGB", (30, 20), (0, 0, 255)).save(tmp_path / "blue.png")
    gray = ImageFolder(tmp_path, image_size=4, grayscale=True)
    assert gray.item_shape == (1, 4, 4)
    values = {gray.describe(i): float(gray[i][0].mean()) for i in range(2)}
    # ITU-R 601 luma weights: red is brighter than blue
    assert values["red.png"] == pytest.approx(0.299, abs=0.01)
    assert values["blue.png"] == pytest.approx(0.114, abs=0.01)
    native = ImageFolder(tmp_path, image_size=None)
    assert native.item_shape is None
    assert native[0][0].shape == (3, 20, 30)
    batches = list(ImageIterator(tmp_path, batches=2, image_size=None))
    assert batches[0].shape == (2, 3, 20, 30)


def test_native_sizes_that_differ_cannot_share_a_batch(tmp_path):
    Image.new("RGB", (30, 20)).save(tmp_path / "a.png")
    Image.new("RGB", (20, 30)).save(tmp_path / "b.png")
    assert [b.shape for b in ImageIterator(tmp_path, batches=1, image_size=None)] == [(1, 3, 20, 30), (1, 3, 30, 20)]
    with pytest.raises(DataError, match="image_size"):
        list(ImageIterator(tmp_path, batches=2, image_size=None))


def test_centre_crop_keeps_the_middle(tmp_path):
    pixels = np.zeros((20, 60, 3), dtype=np.uint8)
    pixels[:, :20] = (255, 0, 0)
    pixels[:, 20:40] = (0, 255, 0)
    pixels[:, 40:] = (0, 0, 255)
    Image.fromarray(pixels).save(tmp_path / "wide.png")
    tensor = load_image(tmp_path / "wide.png", 10)
    # only the edge columns may see a little of the neighbours through the filter
    np.testing.assert_allclose(tensor[:, :, 1:-1].mean(dim=(1, 2)).numpy(), [0, 1, 0], atol=1e-6)
    np.testing.assert_allclose(tensor.mean(dim=(1, 2)).numpy(), [0, 1, 0], atol=0.03)
    # upscaling goes through the same crop
    assert load_image(tmp_path / "wide.png", 40).shape == (3, 40, 40)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    # Four coloured quadrants of different sizes make every flip/turn distinct.
    pixels = np.zeros((48, 64, 3), dtype=np.uint8)
    pixels[:20, :40] = (255, 0, 0)
    pixels[:20, 40:] = (0, 255, 0)
    pixels[20:, :40] = (0, 0, 255)
    pixels[20:, 40:] = (255, 255, 0)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "oriented.jpg"
    image.save(path, exif=exif, quality=95)
    reference = fit(ImageOps.exif_transpose(Image.open(path).convert("RGB")), 16)
    want = torch.from_numpy(np.asarray(reference, dtype=np.float32) / 255).permute(2, 0, 1)
    got = load_image(path, 16)
    assert got.shape == want.shape
    # the draft()-scaled decode differs slightly from a full decode; a wrong
    # orientation would move whole quadrants (errors near 1.0)
    assert (got - want).abs().mean() < 0.04


def test_bad_files_are_skipped_warned_once_and_counted(tmp_path):
    write_format_images(tmp_path)
    broken = write_broken_images(tmp_path)
    dataset = ImageFolder(tmp_path, image_size=8)
    iterator = ImageIterator(tmp_path, batches=4, image_size=8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images = sum(batch.shape[0] for batch in iterator)
        for index in range(len(dataset)):
            dataset[index]
            dataset[index]  # a second read of a bad file warns no more
    assert images == len(dataset) - len(broken)
    assert iterator.skipped == len(broken)
    messages = [str(w.message) for w in caught if issubclass(w.category, UnreadableFileWarning)]
    for name in broken:
        assert sum(name in message for message in messages) <= 2  # one per dataset
        assert any(name in message for message in messages)
    assert [dataset.describe(i) for i in range(len(dataset)) if dataset[i] is None] == sorted(broken)
    # a second pass counts afresh, not cumulatively
    sum(1 for _ in iterator)
    assert iterator.skipped == len(broken)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    png_bomb(tmp_path / "bomb.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "fine.png")
    with pytest.warns(UnreadableFileWarning, match="bomb.png"):  # found by the listing probe
        dataset = ImageFolder(tmp_path, image_size=8)
    assert dataset[dataset.paths.index("bomb.png")] is None


def test_bomb_limit_follows_pillow_setting(tmp_path, monkeypatch):
    Image.new("RGB", (100, 100)).save(tmp_path / "big.png")
    Image.new("RGB", (10, 10)).save(tmp_path / "small.png")
    # between 1x and 2x the limit Pillow only warns; we refuse
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6000)
    with pytest.warns(UnreadableFileWarning, match="big.png"):
        dataset = ImageFolder(tmp_path, image_size=8)
    assert dataset[0] is None
    assert dataset[1] is not None


def test_a_pillow_image_under_a_wrong_extension_still_reads(tmp_path):
    Image.new("RGB", (8, 8), (0, 255, 0)).save(tmp_path / "actually_png.jpg", format="PNG")
    tensor, _ = ImageFolder(tmp_path, image_size=4)[0]
    assert tensor[1].mean() == pytest.approx(1.0)


def test_a_file_is_opened_with_its_extension_format_first(tmp_path, monkeypatch):
    """Pillow tries its plugins in turn otherwise: a tenth of a 64×64 JPEG's read time (BENCHMARKS.md, issue 26)."""
    from dirvae.data import pixels

    Image.new("RGB", (8, 8), (0, 255, 0)).save(tmp_path / "a.jpg")
    Image.new("RGB", (8, 8), (0, 255, 0)).save(tmp_path / "b.PNG")
    opened, real_open = [], pixels.Image.open
    monkeypatch.setattr(pixels.Image, "open", lambda path, *args, **kwargs: opened.append(kwargs.get("formats")) or real_open(path, *args, **kwargs))
    folder = ImageFolder(tmp_path, image_size=4)
    opened.clear()
    assert folder[0] is not None and folder[1] is not None
    assert opened == [["JPEG"], ["PNG"]]


def test_folder_errors_name_the_path_and_formats(tmp_path):
    with pytest.raises(DataError, match=r"missing.*no such directory.*jpg"):
        ImageFolder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty.*no image file found.*png"):
        ImageFolder(tmp_path / "empty")
    write_broken_images(tmp_path / "broken")
    with pytest.warns(UnreadableFileWarning), pytest.raises(DataError, match=r"broken.*no readable image.*webp"):
        ImageFolder(tmp_path / "broken")


def test_images_only_folder_holding_audio_says_so(tmp_path):
    import soundfile

    soundfile.write(tmp_path / "a.wav", np.zeros(100), 8000)
    with pytest.raises(DataError, match="holds? audio"):
        ImageFolder(tmp_path)


def test_class_folders_give_labels(tmp_path):
    for name, colour in [("cats", (255, 0, 0)), ("dogs", (0, 255, 0))]:
        for k in range(2):
            os.makedirs(tmp_path / name / "nested", exist_ok=True)
            Image.new("RGB", (8, 8), colour).save(tmp_path / name / "nested" / f"{k}.png")
    dataset = ImageFolder(tmp_path, image_size=4)
    assert dataset.classes == ["cats", "dogs"]
    labels = [dataset[i][1] for i in range(len(dataset))]
    assert labels == [0, 0, 1, 1]
    assert all(dataset[i][0][labels[i]].mean() == 1.0 for i in range(4))
    assert ImageFolder(tmp_path, image_size=4, labels=False)[0][1] == -1


def _corrupt_png(path, rng=np.random.default_rng(1)):
    """A PNG whose compressed pixels are garbage but whose chunk checksums are right."""
    import io
    import struct
    import zlib

    buffer = io.BytesIO()
    Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    start = data.find(b"IDAT")
    length = struct.unpack(">I", data[start - 4 : start])[0]
    for k in range(start + 4 + length // 2, start + 4 + length // 2 + 40):
        data[k] ^= 0x55
    data[start + 4 + length : start + 8 + length] = struct.pack(">I", zlib.crc32(bytes(data[start : start + 4 + length])))
    path.write_bytes(bytes(data))


def test_a_png_with_corrupt_pixel_data_is_skipped_with_a_warning_not_half_decoded(tmp_path):
    write_format_images(tmp_path)
    _corrupt_png(tmp_path / "zz_corrupt.png")
    with pytest.raises(OSError):
        load_image(tmp_path / "zz_corrupt.png", 16)
    dataset = ImageFolder(tmp_path, image_size=8)
    index = [dataset.describe(i) for i in range(len(dataset))].index("zz_corrupt.png")
    with pytest.warns(UnreadableFileWarning, match="zz_corrupt.png"):
        assert dataset[index] is None
    assert len(dataset.bad_files) == 1


def test_a_float_tiff_with_one_nan_pixel_is_skipped_and_counted(tmp_path):
    write_format_images(tmp_path)
    pixels = np.full((16, 16), 0.5, dtype=np.float32)
    pixels[3, 4] = np.nan
    Image.fromarray(pixels, mode="F").save(tmp_path / "zz_nan.tiff")
    dataset = ImageFolder(tmp_path, image_size=8)
    index = [dataset.describe(i) for i in range(len(dataset))].index("zz_nan.tiff")
    with pytest.warns(UnreadableFileWarning, match="zz_nan.tiff.*non-finite"):
        assert dataset[index] is None
    assert dataset.bad_files.names == ["zz_nan.tiff"]
    readable = [dataset[i][0] for i in range(len(dataset)) if i != index]
    assert all(torch.isfinite(t).all() for t in readable)
