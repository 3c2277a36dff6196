"""Topic models side by side: LDA (scikit-learn, gensim, tomotopy), ProdLDA (Pyro) and ours, scored by one piece of code.

Every method sees the same training documents, the same frozen vocabulary
(``dirvae.text.vocabulary``, V = 2000 by default) and is scored on the same
held-out documents by ``dirvae.text.metrics`` (background.md §6):

* NPMI of each topic's top-10 words, reference = the held-out documents'
  co-occurrence (a pair never co-occurring scores −1), mean over topics;
* topic diversity: unique share of all topics' top-25 words;
* document-completion perplexity: θ from a random half of each held-out
  document's tokens, perplexity of the other half;
* 5-NN accuracy of held-out θ with the Hellinger distance (5-fold CV);
* active topics (mean held-out θ > 1/(10K)), wall time and training documents/s.

Corpora (offline; Debian packages are fetched with ``apt-get download`` and
unpacked with ``dpkg -x`` into ``--cache``, never installed):

* ``python-docs``: the reST sources of the Python library reference
  (``python3.X-doc``), one document per section, labelled by chapter;
* ``fortunes``: Debian's ``fortunes``, one document per fortune, labelled by file;
* ``newsgroups-mini``: gensim's bundled 200-post 2-group sample (smoke);
* ``reuters``: the ``lda`` package's 395-document Reuters sample, labelled by
  the country in its title (smoke).

Usage::

    python benchmarks/topics.py --smoke                       # CI: tiny corpora, a few seconds a method
    python benchmarks/topics.py --corpora python-docs fortunes --topics 20 50 --seeds 0 1 2 3 4 --out results.json
    python benchmarks/topics.py --methods dirvae dirvae-mixture dirvae-learned ...   # the recipe study

Methods are named in :data:`METHODS` (``ours`` variants in :data:`VARIANTS`).
"""

from __future__ import annotations

import argparse
import copyreg
import io
import json
import math
import os
import pickle
import re
import statistics
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.sparse as sp
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dirvae import DirichletVAE  # noqa: E402
from dirvae.text import metrics  # noqa: E402
from dirvae.text.loop import infer_theta, train_topic_model, word_probabilities  # noqa: E402
from dirvae.text.vocabulary import Vocabulary  # noqa: E402
from dirvae.nets.topic import topic_model, topic_word  # noqa: E402

DEFAULT_CACHE = Path(os.environ.get("DIRVAE_TEXT_CACHE", Path.home() / ".cache" / "dirvae-text"))


# ----------------------------------------------------------------------------- corpora
@dataclass
class Corpus:
    name: str
    texts: list[str]
    labels: list[str]


def _debian_package(package: str, cache: Path) -> Path:
    """``apt-get download`` + ``dpkg -x`` into ``cache/<package>/`` (once); returns the unpacked root."""
    root = cache / package
    if (root / ".done").is_file():
        return root
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", package], cwd=debs, check=True, capture_output=True)
    deb = sorted(debs.glob(f"{package}_*.deb"))[-1]
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    (root / ".done").write_text("")
    return root


def _python_doc_package() -> str:
    """The versioned package behind ``python3-doc`` (e.g. ``python3.11-doc``), from apt's metadata."""
    shown = subprocess.run(["apt-cache", "depends", "python3-doc"], capture_output=True, text=True).stdout
    found = re.findall(r"Depends: (python3\.\d+-doc)", shown)
    if not found:
        raise RuntimeError("apt-cache knows no python3-doc: run apt-get update")
    return found[0]


TOCTREE_ENTRY = re.compile(r"^\s{3,}([\w./-]+)\s*$")
HEADING_UNDERLINE = re.compile(r"^([=\-~^*+#\"'`])\1{3,}\s*$")


def _toctree_entries(text: str) -> list[str]:
    entries, inside = [], False
    for line in text.splitlines():
        if line.strip().startswith(".. toctree::"):
            inside = True
            continue
        if inside:
            if line.strip() and not line.startswith(" "):
                inside = False
                continue
            match = TOCTREE_ENTRY.match(line)
            if match and not match.group(1).startswith(":"):
                entries.append(match.group(1).removesuffix(".rst"))
    return entries


API_ENTRY = re.compile(r"^\.\. (function|class|method|data|exception|attribute|decorator|describe|opcode|envvar)::")


def _rst_sections(text: str) -> list[str]:
    """Split reST at every heading (a title line over an underline of one repeated character) and every top-level API entry.

    A module page is one long text; its sections and its documented
    functions/classes are the units a reader looks up, a few dozen to a few
    hundred words each, which is the document size topic models are meant for.
    """
    lines = text.splitlines()
    headings = [i - 1 for i in range(1, len(lines)) if HEADING_UNDERLINE.match(lines[i]) and lines[i - 1].strip()]
    entries = [i for i, line in enumerate(lines) if API_ENTRY.match(line)]
    starts = [0] + headings + entries
    starts = sorted(set(starts))
    return ["\n".join(lines[a:b]) for a, b in zip(starts, starts[1:] + [len(lines)])]


def load_python_docs(cache: Path, min_words: int = 20) -> Corpus:
    root = _debian_package(_python_doc_package(), cache)
    sources = next(path.parent for path in root.glob("usr/share/doc/python3*/html/_sources/library/index.rst.txt"))
    texts, labels = [], []
    for chapter in _toctree_entries((sources / "index.rst.txt").read_text(encoding="utf-8")):
        chapter_file = sources / f"{chapter}.rst.txt"
        if not chapter_file.is_file():
            continue
        modules = _toctree_entries(chapter_file.read_text(encoding="utf-8")) or [chapter]
        for module in modules:
            path = sources / f"{module}.rst.txt"
            if not path.is_file():
                continue
            for section in _rst_sections(path.read_text(encoding="utf-8", errors="replace")):
                if len(section.split()) >= min_words:
                    texts.append(section)
                    labels.append(chapter)
    return Corpus("python-docs", texts, labels)


def load_fortunes(cache: Path) -> Corpus:
    root = _debian_package("fortunes", cache)
    folder = root / "usr/share/games/fortunes"
    texts, labels = [], []
    for path in sorted(folder.iterdir()):
        if path.suffix or path.is_dir():  # .dat indexes and .u8 links
            continue
        for fortune in path.read_text(encoding="utf-8", errors="replace").split("\n%\n"):
            if fortune.strip():
                texts.append(fortune)
                labels.append(path.name)
    return Corpus("fortunes", texts, labels)


class _Bunch(dict):
    pass


def load_newsgroups_mini() -> Corpus:
    """gensim's bundled test sample: a zlib-compressed protocol-0 pickle of a scikit-learn Bunch.

    Unpickled with an allow-list (the Bunch, numpy arrays, dicts): nothing
    else in the file can be constructed.
    """
    import gensim  # optional: only the smoke corpora need it
    from numpy.core.multiarray import _reconstruct  # the pickle's ndarray constructor

    allowed = {
        ("sklearn.datasets.base", "Bunch"): _Bunch,
        ("copy_reg", "_reconstructor"): copyreg._reconstructor,
        ("__builtin__", "dict"): dict,
        ("__builtin__", "object"): object,
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    class Restricted(pickle.Unpickler):
        def find_class(self, module: str, name: str):
            if (module, name) not in allowed:
                raise pickle.UnpicklingError(f"{module}.{name} is not allowed")
            return allowed[(module, name)]

    path = Path(gensim.__file__).parent / "test/test_data/mini_newsgroup"
    bunch = Restricted(io.BytesIO(zlib.decompress(path.read_bytes())), encoding="latin1").load()
    names = bunch["target_names"]
    return Corpus("newsgroups-mini", list(bunch["data"]), [names[i] for i in bunch["target"]])


def load_reuters() -> Corpus:
    """The ``lda`` package's sample: LDA-C counts over its vocabulary, texts rebuilt as word lists."""
    import lda  # optional: only the smoke corpora need it

    folder = Path(lda.__file__).parent / "tests"
    vocabulary = (folder / "reuters.tokens").read_text(encoding="utf-8").split()
    titles = (folder / "reuters.titles").read_text(encoding="utf-8").splitlines()
    texts, labels = [], []
    for line, title in zip((folder / "reuters.ldac").read_text().splitlines(), titles):
        words = []
        for pair in line.split()[1:]:
            word, count = pair.split(":")
            words += [vocabulary[int(word)]] * int(count)
        texts.append(" ".join(words))
        labels.append(title.split(" ", 1)[1].split(":", 1)[0].strip())
    return Corpus("reuters", texts, labels)


def load_corpus(name: str, cache: Path) -> Corpus:
    loaders: dict[str, Callable[[], Corpus]] = {
        "python-docs": lambda: load_python_docs(cache),
        "fortunes": lambda: load_fortunes(cache),
        "newsgroups-mini": load_newsgroups_mini,
        "reuters": load_reuters,
    }
    return loaders[name]()


@dataclass
class Split:
    vocabulary: Vocabulary
    train: sp.csr_matrix
    test: sp.csr_matrix
    test_labels: np.ndarray
    observed: sp.csr_matrix
    held_out: sp.csr_matrix


def split_corpus(corpus: Corpus, vocab_size: int, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """A fixed train/test split, the vocabulary from the training part, empty documents dropped, halves for completion."""
    order = np.random.default_rng(seed).permutation(len(corpus.texts))
    cut = int(len(order) * (1 - test_fraction))
    train_ids, test_ids = order[:cut], order[cut:]
    vocabulary = Vocabulary.build((corpus.texts[i] for i in train_ids), vocab_size=vocab_size, min_df=2, max_df=0.5)
    train = vocabulary.vectorize([corpus.texts[i] for i in train_ids])
    test = vocabulary.vectorize([corpus.texts[i] for i in test_ids])
    train = train[np.diff(train.indptr) > 0]
    keep = np.diff(test.indptr) > 0
    test = test[keep]
    label_names = sorted(set(corpus.labels))
    test_labels = np.array([label_names.index(corpus.labels[i]) for i in test_ids[keep]])
    observed, held_out, kept = metrics.split_halves(test, seed=seed)
    return Split(vocabulary, train, test, test_labels, observed, held_out)


# ----------------------------------------------------------------------------- methods
@dataclass
class Fitted:
    """What every method hands to the scorer."""

    topic_word: np.ndarray  # [K, V] weights (top words are read off it)
    theta: Callable[[sp.csr_matrix], np.ndarray]  # documents -> [D, K]
    completion: Callable[[sp.csr_matrix], np.ndarray]  # observed halves -> [D, V] word distributions
    documents_seen: int
    deviation: np.ndarray | None = None  # [K, V] a background model's topics less the background (SCHOLAR's reading), scored beside


def _mixture_completion(theta: Callable, beta: np.ndarray) -> Callable:
    beta = beta / beta.sum(axis=1, keepdims=True)

    def complete(observed: sp.csr_matrix) -> np.ndarray:
        t = theta(observed)
        return t @ beta

    return complete


def fit_sklearn(split: Split, k: int, seed: int, budget: dict) -> Fitted:
    from sklearn.decomposition import LatentDirichletAllocation  # per method: each baseline imports its own library

    model = LatentDirichletAllocation(
        n_components=k, learning_method="online", max_iter=budget["lda_passes"], batch_size=256, random_state=seed, n_jobs=1
    )
    model.fit(split.train)
    theta = lambda x: _normalise(model.transform(x))  # noqa: E731
    beta = model.components_ / model.components_.sum(axis=1, keepdims=True)
    return Fitted(beta, theta, _mixture_completion(theta, beta), split.train.shape[0] * budget["lda_passes"])


def _normalise(theta: np.ndarray) -> np.ndarray:
    return theta / theta.sum(axis=1, keepdims=True)


def _bow(matrix: sp.csr_matrix) -> list[list[tuple[int, int]]]:
    return [list(zip(matrix.indices[a:b].tolist(), matrix.data[a:b].tolist())) for a, b in zip(matrix.indptr[:-1], matrix.indptr[1:])]


def fit_gensim(split: Split, k: int, seed: int, budget: dict) -> Fitted:
    from gensim.models import LdaModel  # per method: each baseline imports its own library

    id2word = dict(enumerate(split.vocabulary.words))
    model = LdaModel(_bow(split.train), num_topics=k, id2word=id2word, passes=budget["lda_passes"], random_state=seed, chunksize=2000)

    def theta(x: sp.csr_matrix) -> np.ndarray:
        out = np.zeros((x.shape[0], k))
        for d, bow in enumerate(_bow(x)):
            for topic, p in model.get_document_topics(bow, minimum_probability=0.0):
                out[d, topic] = p
        return _normalise(out)

    beta = model.get_topics()
    return Fitted(beta, theta, _mixture_completion(theta, beta), split.train.shape[0] * budget["lda_passes"])


def _words(matrix: sp.csr_matrix, vocabulary: tuple[str, ...]) -> list[list[str]]:
    docs = []
    for a, b in zip(matrix.indptr[:-1], matrix.indptr[1:]):
        docs.append([vocabulary[w] for w, c in zip(matrix.indices[a:b], matrix.data[a:b]) for _ in range(int(c))])
    return docs


def fit_tomotopy(split: Split, k: int, seed: int, budget: dict) -> Fitted:
    import tomotopy as tp  # per method: each baseline imports its own library

    words = split.vocabulary.words
    model = tp.LDAModel(k=k, alpha=0.1, eta=0.01, seed=seed)
    for doc in _words(split.train, words):
        model.add_doc(doc)
    model.train(budget["gibbs_iterations"], workers=1)
    index = {w: i for i, w in enumerate(model.used_vocabs)}
    order = np.array([index.get(w, -1) for w in words])
    raw = np.stack([model.get_topic_word_dist(t) for t in range(k)])
    beta = np.where(order >= 0, raw[:, np.clip(order, 0, None)], 1e-12)

    def theta(x: sp.csr_matrix) -> np.ndarray:
        docs = [model.make_doc(doc) for doc in _words(x, words)]
        out = np.full((x.shape[0], k), 1.0 / k)
        nonempty = [i for i, d in enumerate(docs) if len(d.words)]
        if nonempty:
            inferred, _ = model.infer([docs[i] for i in nonempty], iterations=100, workers=1)
            for i, d in zip(nonempty, inferred):
                out[i] = d if isinstance(d, np.ndarray) else d.get_topic_dist()
        return _normalise(out)

    return Fitted(beta, theta, _mixture_completion(theta, beta), split.train.shape[0] * budget["gibbs_iterations"])


def fit_pyro_prodlda(split: Split, k: int, seed: int, budget: dict) -> Fitted:
    """Pyro's ProdLDA tutorial model (AVITM settings: softplus 100-100 encoder, BN heads, dropout 0.2, Laplace prior of Dir(1))."""
    import pyro  # per method: optional dependency
    import pyro.distributions as dist  # likewise
    from pyro.infer import SVI, TraceMeanField_ELBO  # likewise
    from torch import nn

    pyro.set_rng_seed(seed)
    pyro.clear_param_store()
    vocab = split.train.shape[1]

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.2)
            self.fc1, self.fc2 = nn.Linear(vocab, 100), nn.Linear(100, 100)
            self.fcmu, self.fclv = nn.Linear(100, k), nn.Linear(100, k)
            self.bnmu, self.bnlv = nn.BatchNorm1d(k, affine=False), nn.BatchNorm1d(k, affine=False)

        def forward(self, x):
            h = self.drop(nn.functional.softplus(self.fc2(nn.functional.softplus(self.fc1(x)))))
            return self.bnmu(self.fcmu(h)), (0.5 * self.bnlv(self.fclv(h))).exp()

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.beta = nn.Linear(k, vocab, bias=False)
            self.bn = nn.BatchNorm1d(vocab, affine=False)
            self.drop = nn.Dropout(0.2)

        def forward(self, t):
            return nn.functional.softmax(self.bn(self.beta(self.drop(t))), dim=1)

    encoder, decoder = Encoder(), Decoder()

    def model(docs):
        pyro.module("decoder", decoder)
        with pyro.plate("documents", docs.shape[0]):
            prior_loc = docs.new_zeros((docs.shape[0], k))
            prior_scale = docs.new_ones((docs.shape[0], k))
            logtheta = pyro.sample("logtheta", dist.Normal(prior_loc, prior_scale).to_event(1))
            probs = decoder(nn.functional.softmax(logtheta, -1))
            pyro.sample("obs", dist.Multinomial(int(docs.sum(-1).max()), probs, validate_args=False), obs=docs)

    def guide(docs):
        pyro.module("encoder", encoder)
        with pyro.plate("documents", docs.shape[0]):
            loc, scale = encoder(docs)
            pyro.sample("logtheta", dist.Normal(loc, scale).to_event(1))

    svi = SVI(model, guide, pyro.optim.Adam({"lr": 2e-3, "betas": (0.99, 0.999)}), loss=TraceMeanField_ELBO())
    rng = np.random.default_rng(seed)
    train = split.train.astype(np.float32)
    start, seen = time.perf_counter(), 0
    for _ in range(budget["epochs"]):
        shuffled = train[rng.permutation(train.shape[0])]
        for a in range(0, shuffled.shape[0], 200):
            batch = torch.from_numpy(shuffled[a : a + 200].toarray())
            if batch.shape[0] > 1:
                svi.step(batch)
                seen += batch.shape[0]
        if time.perf_counter() - start > budget["seconds"]:
            break
    encoder.eval()
    decoder.eval()

    @torch.no_grad()
    def theta(x: sp.csr_matrix) -> np.ndarray:
        loc, _ = encoder(torch.from_numpy(x.astype(np.float32).toarray()))
        return torch.softmax(loc, -1).double().numpy()

    @torch.no_grad()
    def complete(x: sp.csr_matrix) -> np.ndarray:
        return decoder(torch.from_numpy(theta(x)).float()).double().numpy()

    return Fitted(decoder.beta.weight.detach().t().numpy(), theta, complete, seen)


VARIANTS: dict[str, dict] = {
    # name: options of our model (anything missing takes the "dirvae" value)
    # The baseline recipe of the study (benchmarks/results/topics.md): Dir(1) beat Dir(0.1) on diversity,
    # perplexity and kNN.  Not final: Adam β₁ 0.9 ("dirvae-adam0.9") measured better on perplexity,
    # kNN and diversity but worse on NPMI, at the 40 s budget.
    "dirvae": {"latent": "dirichlet", "decoder": "prodlda", "prior_alpha": 1.0},
    "gaussian": {"latent": "gaussian", "decoder": "prodlda"},
    "dirvae-a0.1": {"prior_alpha": 0.1},
    "dirvae-a0.02": {"prior_alpha": 0.02},
    "dirvae-a0.3": {"prior_alpha": 0.3},
    "dirvae-learned": {"learn_prior": True},
    "dirvae-mom": {"prior_burn_in": 1000},
    "dirvae-mixture": {"decoder": "mixture"},
    "dirvae-nobn": {"head_batch_norm": False},
    "dirvae-nodropout": {"dropout": 0.0, "theta_dropout": 0.0},
    "dirvae-adam0.9": {"betas": (0.9, 0.999)},
    "dirvae-counts": {"encoder_input": "counts"},
    # Issue 24, NPMI study (2026-12-07; BENCHMARKS.md): "dirvae-adam0.9-a0.5" is the library's text default since.
    # Longer budgets ("seconds" overrides --seconds for the variant):
    "dirvae-120s": {"seconds": 120.0},
    "dirvae-adam0.9-120s": {"betas": (0.9, 0.999), "seconds": 120.0},
    # background log word frequencies (SCHOLAR, Card et al. 2018), with the text default's β₁ 0.9
    "dirvae-adam0.9-bg": {"betas": (0.9, 0.999), "background": "fixed"},
    "dirvae-adam0.9-bginit": {"betas": (0.9, 0.999), "background": "init"},
    "dirvae-adam0.9-scholar": {"betas": (0.9, 0.999), "background": "fixed", "bn_anneal_steps": 1000},
    "dirvae-adam0.9-a0.3": {"betas": (0.9, 0.999), "prior_alpha": 0.3},
    "dirvae-adam0.9-a0.5": {"betas": (0.9, 0.999), "prior_alpha": 0.5},
    "dirvae-adam0.9-a0.1": {"betas": (0.9, 0.999), "prior_alpha": 0.1},
    "dirvae-adam0.9-klwarm": {"betas": (0.9, 0.999), "kl_warmup_steps": 1000},
    "dirvae-adam0.9-batch500": {"betas": (0.9, 0.999), "batch_size": 500},
}


def fit_ours(variant: str) -> Callable[[Split, int, int, dict], Fitted]:
    options = {**VARIANTS["dirvae"], **VARIANTS[variant]}

    def fit(split: Split, k: int, seed: int, budget: dict) -> Fitted:
        torch.manual_seed(seed)
        gaussian = options["latent"] == "gaussian"
        encoder, decoder = topic_model(
            split.train.shape[1],
            k,
            decoder=options["decoder"],
            dropout=options.get("dropout", 0.2),
            theta_dropout=options.get("theta_dropout", 0.2),
            encoder_input=options.get("encoder_input", "log1p"),
            head_batch_norm=options.get("head_batch_norm", True),
            softmax_input=gaussian,
            **({"background": options["background"]} if "background" in options else {}),
            **({"bn_anneal_steps": options["bn_anneal_steps"]} if "bn_anneal_steps" in options else {}),
        )
        if "background" in options:
            frequencies = np.asarray(split.train.sum(axis=0)).ravel() + 1.0
            decoder.set_background(torch.from_numpy(np.log(frequencies / frequencies.sum())).float())
        model = DirichletVAE(
            encoder,
            decoder,
            k,
            latent=options["latent"],
            decoder_input="simplex",
            reconstruction="multinomial",
            prior_alpha=options.get("prior_alpha", 1.0),
            learn_prior=options.get("learn_prior", None),
            prior_burn_in=options.get("prior_burn_in", None),
        )
        model.decode_head.requires_grad_(False)  # topics are read off the decoder: no K→K map in front of it
        stats = train_topic_model(
            model,
            split.train,
            epochs=budget["epochs"],
            seconds=options.get("seconds", budget["seconds"]),
            batch_size=options.get("batch_size", 200),
            learning_rate=options.get("learning_rate", 2e-3),
            betas=options.get("betas", (0.99, 0.999)),
            kl_warmup_steps=options.get("kl_warmup_steps", 0),
            seed=seed,
        )
        weights = topic_word(decoder).numpy()
        deviation = weights - decoder.background.numpy() if hasattr(decoder, "background") else None
        return Fitted(
            weights,
            lambda x: infer_theta(model, x),
            lambda x: word_probabilities(model, x),
            stats.documents,
            deviation,
        )

    return fit


METHODS: dict[str, Callable[[Split, int, int, dict], Fitted]] = {
    "sklearn-lda": fit_sklearn,
    "gensim-lda": fit_gensim,
    "tomotopy-lda": fit_tomotopy,
    "pyro-prodlda": fit_pyro_prodlda,
    **{name: fit_ours(name) for name in VARIANTS},
}


def score(split: Split, fitted: Fitted) -> dict[str, float]:
    theta = fitted.theta(split.test)
    result = {
        "npmi": metrics.npmi(fitted.topic_word, split.test),
        "diversity": metrics.topic_diversity(fitted.topic_word),
        "perplexity": metrics.completion_perplexity(fitted.completion(split.observed), split.held_out),
        "active": metrics.active_topics(theta),
    }
    if fitted.deviation is not None:
        result["npmi_dev"] = metrics.npmi(fitted.deviation, split.test)
        result["diversity_dev"] = metrics.topic_diversity(fitted.deviation)
    try:
        result["knn"] = metrics.knn_accuracy(theta, split.test_labels)
    except ValueError:  # fewer than two labels in the held-out part
        result["knn"] = math.nan
    return result


# ----------------------------------------------------------------------------- driver
def summarise(records: list[dict]) -> str:
    keys = ["npmi", "diversity", "perplexity", "knn", "active", "seconds", "docs_per_s"]
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        groups.setdefault((record["corpus"], record["k"], record["method"]), []).append(record)
    lines = ["| corpus | K | method | seeds | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 4)]
    for (corpus, k, method), group in groups.items():
        cells = []
        for key in keys:
            values = [g[key] for g in group if not (isinstance(g[key], float) and math.isnan(g[key]))]
            if not values:
                cells.append("n/a")
                continue
            mean = statistics.fmean(values)
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            fmt = {"npmi": ".3f", "diversity": ".2f", "knn": ".3f", "active": ".1f", "perplexity": ".0f", "seconds": ".1f", "docs_per_s": ".0f"}[key]
            cells.append(f"{mean:{fmt}} ± {std:{fmt}}")
        lines.append(f"| {corpus} | {k} | {method} | {len(group)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny corpora and budgets (CI; well under a minute)")
    parser.add_argument("--corpora", nargs="+", default=["python-docs", "fortunes"])
    parser.add_argument("--methods", nargs="+", default=["sklearn-lda", "gensim-lda", "tomotopy-lda", "pyro-prodlda", "gaussian", "dirvae"])
    parser.add_argument("--topics", nargs="+", type=int, default=[20, 50])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--vocab-size", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=200, help="VAE epochs (also capped by --seconds)")
    parser.add_argument("--seconds", type=float, default=40.0, help="VAE (and Pyro) wall-time cap per run")
    parser.add_argument("--lda-passes", type=int, default=10)
    parser.add_argument("--gibbs-iterations", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--out", type=Path, default=None, help="JSON of every run (appended to if it exists)")
    parser.add_argument("--show-topics", type=int, default=0, help="print the top words of this many topics per run")
    args = parser.parse_args(argv)
    if args.smoke:
        args.corpora = ["newsgroups-mini", "reuters"]
        args.topics, args.seeds = [5], [0]
        args.vocab_size, args.epochs, args.seconds = 500, 20, 5.0
        args.lda_passes, args.gibbs_iterations = 3, 50
    torch.set_num_threads(args.threads)
    budget = {"epochs": args.epochs, "seconds": args.seconds, "lda_passes": args.lda_passes, "gibbs_iterations": args.gibbs_iterations}
    records = json.loads(args.out.read_text()) if args.out and args.out.is_file() else []
    for corpus_name in args.corpora:
        corpus = load_corpus(corpus_name, args.cache)
        split = split_corpus(corpus, args.vocab_size)
        print(
            f"{corpus_name}: {len(corpus.texts)} documents, {len(set(corpus.labels))} labels, V = {len(split.vocabulary)}, "
            f"train {split.train.shape[0]}, test {split.test.shape[0]}",
            flush=True,
        )
        for k in args.topics:
            for seed in args.seeds:
                for method in args.methods:
                    start = time.perf_counter()
                    fitted = METHODS[method](split, k, seed, budget)
                    seconds = time.perf_counter() - start
                    record = {"corpus": corpus_name, "k": k, "seed": seed, "method": method, "seconds": seconds,
                              "docs_per_s": fitted.documents_seen / seconds, **score(split, fitted)}
                    records.append(record)
                    print(json.dumps(record), flush=True)
                    if args.show_topics:
                        for row in metrics.top_words(fitted.topic_word, 10)[: args.show_topics]:
                            print("   ", " ".join(split.vocabulary.words[i] for i in row))
                        if fitted.deviation is not None:
                            print("    (less the background)")
                            for row in metrics.top_words(fitted.deviation, 10)[: args.show_topics]:
                                print("   ", " ".join(split.vocabulary.words[i] for i in row))
                    if args.out:
                        args.out.write_text(json.dumps(records, indent=1) + "\n")
    print(summarise(records))


if __name__ == "__main__":
    main()
