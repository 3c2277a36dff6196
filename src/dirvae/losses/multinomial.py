"""The multinomial likelihood of a bag of words: ``−Σ_v x_v log p_v`` per document.

The decoder's raw output is word logits ``[B, V]`` (or log-probabilities up
to a per-document constant: the topic decoders' outputs); ``log_softmax``
normalises them, so ``p`` is a distribution over the vocabulary whatever the
decoder.  The multinomial coefficient ``log(N! / Π x_v!)`` is left out: it
does not depend on the model, and the topic-model literature (AVITM, the
perplexities of :mod:`dirvae.text.metrics`) leaves it out too.  Targets may be
sparse tensors (the text corpus's batches); they are densified here, one batch
at a time.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dirvae.losses.reconstruction import ReconstructionLoss


class MultinomialLoss(ReconstructionLoss):
    """−log p(x | z) of word counts ``[B, V]`` under ``softmax(output)`` (no multinomial coefficient)."""

    config_name = "multinomial"
    density_normalised = False
    density_note = "multinomial likelihood of word counts without the coefficient log(N!/Πx!) (per-word perplexity units)"

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        if target.layout != torch.strided:
            target = target.to_dense()
        if output.shape != target.shape or output.dim() != 2:
            raise ValueError(f"expected logits and counts of one shape [B, V], got {tuple(output.shape)} and {tuple(target.shape)}")
        return -(target.float() * torch.log_softmax(output.float(), dim=1)).sum(dim=1)

    def mean(self, output: Tensor) -> Tensor:
        """The word distribution ``[B, V]`` (rows sum to one)."""
        return torch.softmax(output.float(), dim=1)
