import pytest


@pytest.fixture
def workdir(tmp_path):
    """A fresh current directory for a CLI run (no data/ folder, so digits is the default)."""
    return tmp_path
