"""Using a trained run: its model, and data read the way it was trained.

The tools (sample, reconstruct, interpolate, traverse, encode, evaluate) all
start here, so every one of them reads inputs with the same image size,
channels and audio window as training, and fails with the same clear errors.

Inputs are named the way the datasets name items: ``a.png``,
``tone.wav#window=3``, ``clip.mp4#frame=12``, ``digits#0007``.  Any of these
can also be *given* as an input, to pick one window, frame or item:
``clip.mp4#frame=12`` (or ``clip.mp4#12``) is frame 12 of that file, and
``FOLDER#5`` is item 5 of a folder (``digits#5`` for the embedded digits).

The package splits by job: :mod:`~dirvae.runs.loading` (a run's model on a
device, checked against its config; chunked decoding), :mod:`~dirvae.runs.inputs`
(items named ``file#N``, read like training), :mod:`~dirvae.runs.batches` (whole folders) and
:mod:`dirvae.cli.arguments` (the tools' shared flags and output lines, re-exported here).
Everything is importable from here, as before.
"""

from dirvae.cli.arguments import add_run_arguments, article, positive_float, positive_int, say, warn
from dirvae.runs.batches import iter_batches
from dirvae.runs.inputs import (
    file_items,
    file_modality,
    forwarding_warnings,
    iter_inputs,
    load_inputs,
    most_energetic_item,
    parse_input,
    read_inputs,
    spread_inputs,
)
from dirvae.runs.loading import (
    MODALITIES,
    check_config,
    check_model,
    data_options,
    dataset_for_run,
    decode_in_chunks,
    load_run,
    pick_device,
    reconstruct_in_chunks,
)

__all__ = [
    "MODALITIES",
    "add_run_arguments",
    "article",
    "check_config",
    "check_model",
    "data_options",
    "dataset_for_run",
    "decode_in_chunks",
    "file_items",
    "file_modality",
    "forwarding_warnings",
    "iter_batches",
    "iter_inputs",
    "load_inputs",
    "load_run",
    "most_energetic_item",
    "parse_input",
    "pick_device",
    "read_inputs",
    "reconstruct_in_chunks",
    "say",
    "spread_inputs",
    "warn",
]
