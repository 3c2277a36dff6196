"""A generated corpus of 1M documents: vocabulary pass, cached build and one training epoch in bounded memory.

Why generated: no offline corpus has a million documents; the point is the
memory of the pipeline (streaming vocabulary, chunked cache build, memory-mapped
batches), not topic quality.  Documents are drawn from 50 Zipf-distributed
topics over 20,000 generated words, 20–120 words each.  Prints the peak RSS
after each stage and the throughput; run it alone (one heavy job at a time).

    python benchmarks/text_memory.py --documents 1000000 --cache /tmp/dirvae-text-1m
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dirvae import DirichletVAE  # noqa: E402
from dirvae.nets.topic import topic_model  # noqa: E402
from dirvae.text.corpus import SparseCorpus, build_corpus, cache_key, collate_sparse  # noqa: E402
from dirvae.text.documents import Document  # noqa: E402
from dirvae.text.vocabulary import Vocabulary  # noqa: E402


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generated(documents: int, seed: int = 0, words: int = 20000, topics: int = 50):
    """Deterministic documents from ``topics`` topics (each a shuffled Zipf law over the words)."""
    rng = np.random.default_rng(seed)
    names = np.array([f"w{chr(97 + i % 26)}{chr(97 + (i // 26) % 26)}{chr(97 + (i // 676) % 26)}x" for i in range(words)])
    zipf = 1.0 / np.arange(1, words + 1)
    tables = [np.cumsum(zipf[rng.permutation(words)] / zipf.sum()) for _ in range(topics)]
    for d in range(documents):
        table = tables[rng.integers(topics)]
        ids = np.searchsorted(table, rng.random(rng.integers(20, 120)))
        yield Document(" ".join(names[np.minimum(ids, words - 1)]), None, str(d))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/dirvae-text-memory"))
    parser.add_argument("--vocab-size", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    vocabulary = Vocabulary.build((d.text for d in generated(args.documents)), vocab_size=args.vocab_size)
    print(f"vocabulary: {len(vocabulary)} words in {time.perf_counter() - start:.0f} s, peak RSS {peak_rss_mib():.0f} MiB", flush=True)
    start = time.perf_counter()
    key = cache_key({"generated": args.documents}, vocabulary)
    path = build_corpus(generated(args.documents), vocabulary, args.cache, key)
    corpus = SparseCorpus(path)
    size = sum(f.stat().st_size for f in path.iterdir()) / 2**20
    print(f"cache: {len(corpus)} documents, {corpus.meta.tokens} tokens, {size:.0f} MiB on disk, "
          f"{time.perf_counter() - start:.0f} s, peak RSS {peak_rss_mib():.0f} MiB", flush=True)
    encoder, decoder = topic_model(len(vocabulary), 50)
    model = DirichletVAE(encoder, decoder, 50, decoder_input="simplex", reconstruction="multinomial", prior_alpha=0.1)
    model.decode_head.requires_grad_(False)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=2e-3, betas=(0.99, 0.999))
    loader = DataLoader(corpus, batch_size=500, shuffle=True, collate_fn=collate_sparse(len(vocabulary)))
    start, seen = time.perf_counter(), 0
    for counts, _ in loader:  # sparse COO batches, densified by the encoder and the loss
        terms = model.loss(counts)
        optimizer.zero_grad()
        terms.total.backward()
        optimizer.step()
        seen += counts.shape[0]
    seconds = time.perf_counter() - start
    print(f"one epoch: {seen} documents in {seconds:.0f} s ({seen / seconds:.0f} docs/s), peak RSS {peak_rss_mib():.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
