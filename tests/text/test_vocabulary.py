"""The streamed vocabulary equals scikit-learn's CountVectorizer, and round-trips through vocabulary.json."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from dirvae.text.vocabulary import Vocabulary, VocabularySettings, empty_rows

WORDS = "apple banana cherry delta echo fox golf hotel india juliet kilo lima mike the and of".split()


def _corpus(n=400, seed=0):
    rng = np.random.default_rng(seed)
    docs = []
    for _ in range(n):
        length = rng.integers(0, 30)
        words = rng.choice(WORDS, size=length, p=np.linspace(2, 0.2, len(WORDS)) / np.linspace(2, 0.2, len(WORDS)).sum())
        docs.append(" ".join(words) + (" 1984 x_y Ünïcode" if rng.random() < 0.2 else ""))
    return docs


@pytest.mark.parametrize(
    "options",
    [
        {"vocab_size": 5, "min_df": 2, "max_df": 0.5},  # ties at the max_features cut
        {"vocab_size": 8, "min_df": 1, "max_df": 1.0},
        {"vocab_size": None, "min_df": 0.05, "max_df": 300},
        {"vocab_size": 3, "min_df": 10, "max_df": 0.9},
    ],
)
def test_words_and_counts_equal_countvectorizer(options):
    docs = _corpus()
    vocabulary = Vocabulary.build(iter(docs), **options)  # a one-shot iterator: one pass
    reference = CountVectorizer(
        min_df=options["min_df"],
        max_df=options["max_df"],
        max_features=options["vocab_size"],
        stop_words="english",
        token_pattern=VocabularySettings().token_pattern,
    )
    expected = reference.fit_transform(docs)
    assert list(vocabulary.words) == list(reference.get_feature_names_out())
    counts = vocabulary.vectorize(docs)
    assert counts.shape == expected.shape and (counts != expected).nnz == 0


def test_stop_words_digits_and_case_are_dropped():
    vocabulary = Vocabulary.build(["The Apple and 1984 apple", "APPLE banana of"], min_df=1, max_df=1.0)
    assert vocabulary.words == ("apple", "banana")


def test_documents_left_empty_by_the_filter_are_found():
    vocabulary = Vocabulary.build(["apple banana", "apple cherry", "the of and"], min_df=2, max_df=1.0)
    counts = vocabulary.vectorize(["apple banana", "zebra", "the"])
    assert list(empty_rows(counts)) == [1, 2]


def test_save_load_round_trip_keeps_words_and_settings(tmp_path):
    vocabulary = Vocabulary.build(_corpus(), vocab_size=7, min_df=3, max_df=0.8)
    path = vocabulary.save(tmp_path)
    assert path.name == "vocabulary.json"
    loaded = Vocabulary.load(tmp_path)
    assert loaded == vocabulary and loaded.fingerprint() == vocabulary.fingerprint()
    docs = _corpus(seed=1)
    assert (loaded.vectorize(docs) != vocabulary.vectorize(docs)).nnz == 0


def test_an_empty_training_set_is_a_clear_error():
    with pytest.raises(ValueError, match="empty vocabulary"):
        Vocabulary.build(["the and of", ""])
