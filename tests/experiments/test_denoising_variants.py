"""Loss variants of the denoising experiment: names, weights and the balanced prefix."""

import pytest

from earshot.errors import ConfigError
from earshot.experiments.denoising import parse_variant


def test_weights_of_sums_and_balanced_variants():
    assert parse_variant("mrstft", 0.03) == {"mrstft": 1.0}
    assert parse_variant("l1+jnd", 0.03) == {"l1": 1.0, "jnd": 0.03}
    assert parse_variant("mrstft+jnd_spectral", 0.5) == {"mrstft": 1.0, "jnd_spectral": 0.5}
    assert parse_variant("balanced:mrstft+jnd_spectral", 0.03) == {"mrstft": 1.0, "jnd_spectral": 1.0}
    assert parse_variant("0.5*mrstft+2*jnd", 0.03) == {"mrstft": 0.5, "jnd": 2.0}


def test_unknown_term_names_the_choices():
    with pytest.raises(ConfigError, match="jnd_spectral"):
        parse_variant("mrstft+stoi", 0.03)
