"""The benchmark's targets are data given on the command line (--target), judged against what was measured."""

import pytest

from gan_lightning.benchmarks.speed import parse_target, targets


def test_each_target_of_a_measured_part_is_judged_and_others_are_left_out():
    results = {"dcgan": {"fit": {"images_per_s": 50_000.0}, "time_ratio": 1.2}, "fid": {"skipped": "no weights"}}
    rows = targets(
        results,
        ["dcgan.fit.images_per_s>=40000", "dcgan.time_ratio<=1.05", "fid.seconds_10k<=3", "wgan_gp.time_ratio<=1.1"],
    )
    assert [(row["measure"], row["value"], row["met"]) for row in rows] == [
        ("fit.images_per_s", 50_000.0, True),
        ("time_ratio", 1.2, False),
    ]


@pytest.mark.parametrize("text", ["dcgan.fit.images_per_s>40000", "dcgan>=3", "dcgan.time_ratio<=fast"])
def test_a_malformed_target_is_refused_with_the_expected_form(text):
    with pytest.raises(ValueError, match="PART.KEY<=NUMBER"):
        parse_target(text)
