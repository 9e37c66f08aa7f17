"""The 1,000-instance sweep of bench/patch_calls.py, asserted (slow: ~15 s under moto)."""

import pytest

from bench.patch_calls import measure


@pytest.mark.slow
def test_a_1000_instance_sweep_makes_the_documented_number_of_ssm_calls():
    result = measure(instances=1000, managed=800, noncompliant=300)
    for operation, expected in result["expected_ssm"].items():
        assert result["api_calls"][operation] == expected, operation
    assert result["api_calls"]["ec2:CreateTags"] == 6
    assert result["api_calls"]["ec2:DescribeInstances"] == 1
