"""Topic tables: top words with weights, sorted by prevalence, in three formats."""

import csv
import io
import json

import numpy as np
import pytest

from dirvae.text.topics import render, topic_table

WORDS = ["apple", "banana", "car", "road"]
WEIGHTS = np.array([[0.5, 0.4, 0.05, 0.05], [0.0, 0.1, 0.3, 0.6]])


def test_sorted_by_prevalence_with_top_words():
    topics = topic_table(WEIGHTS, WORDS, top_n=2, prevalence=np.array([0.3, 0.7]))
    assert [t.index for t in topics] == [1, 0]
    assert topics[0].words == ("road", "car") and topics[0].weights == (0.6, 0.3)


def test_formats():
    topics = topic_table(WEIGHTS, WORDS, top_n=2, prevalence=np.array([0.3, 0.7]))
    text = render(topics, "text")
    assert text.splitlines()[0].split()[:3] == ["1", "70.0%", "road"]
    data = json.loads(render(topics, "json"))
    assert data[1]["words"][0] == {"word": "apple", "weight": 0.5}
    rows = list(csv.DictReader(io.StringIO(render(topics, "csv"))))
    assert len(rows) == 4 and rows[0]["word"] == "road" and rows[0]["rank"] == "1"
    with pytest.raises(ValueError):
        render(topics, "xml")


def test_nan_weights_are_an_error():
    with pytest.raises(ValueError, match="NaN"):
        topic_table(np.full((1, 4), np.nan), WORDS)
