"""Using a trained run: its record, its model, and data read the way it was trained.

The tools (sample, reconstruct, interpolate, traverse, encode, evaluate) all
start here, so every one of them reads inputs with the same image size,
channels and audio window as training, and fails with the same clear errors.

Inputs are named the way the datasets name items: ``a.png``,
``tone.wav#window=3``, ``clip.mp4#frame=12``, ``digits#0007``.  Any of these
can also be *given* as an input, to pick one window, frame or item:
``clip.mp4#frame=12`` (or ``clip.mp4#12``) is frame 12 of that file, and
``FOLDER#5`` is item 5 of a folder (``digits#5`` for the embedded digits).

The package splits by job: :mod:`~dirvae.runs.files` (a run directory's two
files), :mod:`~dirvae.runs.upgrade` (every older format, read as today's),
:mod:`~dirvae.runs.record` (the typed :class:`RunConfig`),
:mod:`~dirvae.runs.loading` (a run's model on a device, checked against its
record), :mod:`~dirvae.runs.inputs` (items named ``file#N``, read like
training) and :mod:`~dirvae.runs.batches` (whole folders).  Names load on
first use (PEP 562): the model's own saving code imports
:mod:`~dirvae.runs.files` without the rest.
"""

from __future__ import annotations

from dirvae.registry import lazy_attributes

_HOMES: dict[str, str] = {
    "RunConfig": "dirvae.runs.record",
    "read_run": "dirvae.runs.record",
    "check_model": "dirvae.runs.loading",
    "load_run": "dirvae.runs.loading",
    "pick_device": "dirvae.runs.loading",
    "file_items": "dirvae.runs.inputs",
    "file_modality": "dirvae.runs.inputs",
    "forwarding_warnings": "dirvae.runs.inputs",
    "iter_inputs": "dirvae.runs.inputs",
    "load_inputs": "dirvae.runs.inputs",
    "representative_item": "dirvae.runs.inputs",
    "parse_input": "dirvae.runs.inputs",
    "read_inputs": "dirvae.runs.inputs",
    "spread_inputs": "dirvae.runs.inputs",
    "iter_batches": "dirvae.runs.batches",
}

__all__ = sorted(_HOMES)

__getattr__ = lazy_attributes("dirvae.runs", _HOMES)
