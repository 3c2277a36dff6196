"""Text and topic models: documents, a frozen vocabulary, a cached sparse corpus, metrics and topic tables.

Importing this package registers the ``multinomial`` loss and the ``topic``
architecture, so a run that names them can be rebuilt.
"""

from dirvae.losses.multinomial import MultinomialLoss
from dirvae.nets.topic import BagOfWordsEncoder, MixtureDecoder, ProdLDADecoder, topic_model, topic_word
from dirvae.text.corpus import SparseCorpus, build_corpus, cache_key, collate_dense, collate_sparse, source_fingerprint
from dirvae.text.documents import Document, ReadCounts, read_documents
from dirvae.text.vocabulary import Vocabulary, VocabularySettings

__all__ = [
    "BagOfWordsEncoder",
    "Document",
    "MixtureDecoder",
    "MultinomialLoss",
    "ProdLDADecoder",
    "ReadCounts",
    "SparseCorpus",
    "Vocabulary",
    "VocabularySettings",
    "build_corpus",
    "cache_key",
    "collate_dense",
    "collate_sparse",
    "read_documents",
    "source_fingerprint",
    "topic_model",
    "topic_word",
]
