"""The text defaults of ``dirvae train`` (issue 24): AVITM's settings with β₁ 0.9 and a Dir(0.5) prior; older runs keep theirs."""

from dirvae.latent.recipe import PRIOR_ALPHA
from dirvae.training.config import resolve


def test_text_trains_with_a_dir_half_prior_unless_told():
    text = resolve({"type": "text"})
    assert text.prior_alpha == 0.5 and text.adam_beta1 == 0.9 and text.learning_rate == 2e-3
    assert resolve({"type": "image"}).prior_alpha == resolve({"type": "audio"}).prior_alpha == PRIOR_ALPHA
    assert resolve({"type": "text", "prior_alpha": 1.0}).prior_alpha == 1.0


def test_a_text_run_saved_before_resumes_with_the_prior_it_recorded():
    # A resumed run layers its saved training options (which always hold prior_alpha) under the flags.
    saved = {"type": "text", "prior_alpha": PRIOR_ALPHA, "adam_beta1": 0.9}
    assert resolve(saved, {}).prior_alpha == PRIOR_ALPHA
    assert resolve(saved, {"prior_alpha": 0.5}).prior_alpha == 0.5
