from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outcomes.rules import (
    Response,
    derive_mrd_negative,
    derive_response,
    in_remission,
    is_complete_remission,
)

REMISSION = {
    "bone_marrow_blasts_percent": Decimal("1.0"),
    "circulating_blasts": False,
    "extramedullary_disease": False,
}
RECOVERED = {"anc_per_ul": 1500, "platelets_per_ul": 150_000}


def response(**overrides):
    return derive_response(**{**REMISSION, **RECOVERED, **overrides})


def test_api_values_are_the_contract():
    """Each contract value is what the rule returns for its clinical case: a renamed value fails here."""
    assert {
        "CR": response(), "CRi": response(anc_per_ul=500), "no_response": response(bone_marrow_blasts_percent=50),
        "relapse": response(prior_cr=True, bone_marrow_blasts_percent=50),
        "not_evaluable": response(bone_marrow_blasts_percent=None),
    } == {value: value for value in Response.values}


def test_cr_when_marrow_clear_and_counts_recovered():
    assert response() == Response.CR == "CR"


@pytest.mark.parametrize("blasts", [Decimal("4.9"), 4.9, Decimal("4.99"), 0])
def test_remission_when_marrow_blasts_below_5_percent(blasts):
    assert response(bone_marrow_blasts_percent=blasts) == Response.CR


@pytest.mark.parametrize("blasts", [Decimal("5.0"), 5.0, 5, Decimal("62.5")])
def test_no_response_when_marrow_blasts_5_percent_or_more(blasts):
    assert response(bone_marrow_blasts_percent=blasts) == Response.NO_RESPONSE


def test_no_response_when_circulating_blasts_persist():
    assert response(circulating_blasts=True) == Response.NO_RESPONSE


def test_no_response_when_extramedullary_disease_persists():
    assert response(extramedullary_disease=True) == Response.NO_RESPONSE


@pytest.mark.parametrize(
    ("anc", "platelets", "expected"),
    [
        (1000, 100_000, Response.CR),
        (999, 100_000, Response.CRI),
        (1000, 99_999, Response.CRI),
        (0, 5_000, Response.CRI),
    ],
)
def test_count_recovery_splits_cr_from_cri(anc, platelets, expected):
    assert response(anc_per_ul=anc, platelets_per_ul=platelets) == expected


def test_cri_when_one_count_is_low_even_if_the_other_is_missing():
    assert response(anc_per_ul=None, platelets_per_ul=20_000) == Response.CRI


@pytest.mark.parametrize(
    "counts",
    [{"anc_per_ul": None}, {"platelets_per_ul": None},
     {"anc_per_ul": None, "platelets_per_ul": None}],
)
def test_remission_with_unknown_recovery_is_not_evaluable_rather_than_a_guess(counts):
    assert response(**counts) == Response.NOT_EVALUABLE
    assert in_remission(**REMISSION) is True


@pytest.mark.parametrize(
    "missing", ["bone_marrow_blasts_percent", "circulating_blasts", "extramedullary_disease"]
)
def test_not_evaluable_when_a_remission_criterion_was_not_assessed(missing):
    assert response(**{missing: None}) == Response.NOT_EVALUABLE
    assert response(**{missing: None}, prior_cr=True) == Response.NOT_EVALUABLE


def test_known_disease_is_decisive_even_when_another_criterion_is_missing():
    assert (
        response(bone_marrow_blasts_percent=Decimal("40"), extramedullary_disease=None)
        == Response.NO_RESPONSE
    )
    assert (
        response(bone_marrow_blasts_percent=None, circulating_blasts=True, prior_cr=True)
        == Response.RELAPSE
    )


@pytest.mark.parametrize(
    "disease",
    [
        {"bone_marrow_blasts_percent": Decimal("5.0")},
        {"circulating_blasts": True},
        {"extramedullary_disease": True},
    ],
)
def test_relapse_after_prior_cr_when_disease_returns(disease):
    assert response(**disease, prior_cr=True) == Response.RELAPSE


def test_continued_remission_after_prior_cr_is_still_cr():
    assert response(prior_cr=True) == Response.CR


@pytest.mark.parametrize(
    ("value", "expected"),
    [("CR", True), ("CRi", True), ("no_response", False), ("relapse", False),
     ("not_evaluable", False), (None, False)],
)
def test_complete_remission_family(value, expected):
    assert is_complete_remission(value) is expected


@pytest.mark.parametrize(
    "bad",
    [{"bone_marrow_blasts_percent": Decimal("100.1")}, {"bone_marrow_blasts_percent": -1},
     {"anc_per_ul": -1}, {"platelets_per_ul": -5}],
)
def test_impossible_values_are_refused(bad):
    with pytest.raises(ValueError):
        response(**bad)


@given(
    blasts=st.decimals(min_value=0, max_value=100, places=2),
    circulating=st.booleans(),
    extramedullary=st.booleans(),
    anc=st.integers(min_value=0, max_value=20_000),
    platelets=st.integers(min_value=0, max_value=500_000),
    prior_cr=st.booleans(),
)
def test_remission_family_exactly_when_the_registry_criteria_are_met(
    blasts, circulating, extramedullary, anc, platelets, prior_cr
):
    result = derive_response(
        bone_marrow_blasts_percent=blasts,
        circulating_blasts=circulating,
        extramedullary_disease=extramedullary,
        anc_per_ul=anc,
        platelets_per_ul=platelets,
        prior_cr=prior_cr,
    )
    criteria_met = blasts < 5 and not circulating and not extramedullary
    assert is_complete_remission(result) is criteria_met
    if not criteria_met:
        assert result == (Response.RELAPSE if prior_cr else Response.NO_RESPONSE)


# MRD ---------------------------------------------------------------------


def mrd(**overrides):
    # An assay sensitive to 0.01 %: without a recorded sensitivity MRD is not evaluable (test_mrd_sensitivity.py).
    arguments = {"mrd_flow_percent": Decimal("0.001"), "genetic_aberration_detected": False,
                 "mrd_assay_sensitivity_percent": Decimal("0.01")}
    return derive_mrd_negative(**{**arguments, **overrides})


@pytest.mark.parametrize("value", [Decimal("0.0099"), 0.0099, 0])
def test_mrd_negative_below_one_in_ten_thousand(value):
    assert mrd(mrd_flow_percent=value) is True


@pytest.mark.parametrize("value", [Decimal("0.01"), 0.01, Decimal("0.0100"), 2.5])
def test_mrd_positive_at_or_above_one_in_ten_thousand(value):
    # Decimal("0.01") < 0.01 is True in plain Python; the rule must not fall for it.
    assert mrd(mrd_flow_percent=value) is False


def test_mrd_positive_when_a_genetic_aberration_persists():
    assert mrd(genetic_aberration_detected=True) is False


def test_genetic_testing_not_done_does_not_prevent_mrd_negativity():
    assert mrd(genetic_aberration_detected=None) is True


def test_mrd_not_evaluable_without_flow_cytometry():
    assert mrd(mrd_flow_percent=None) is None
    assert mrd(mrd_flow_percent=None, genetic_aberration_detected=None) is None


def test_detected_aberration_is_decisive_without_flow_cytometry():
    assert mrd(mrd_flow_percent=None, genetic_aberration_detected=True) is False


@pytest.mark.parametrize(
    ("sensitivity", "expected"),
    [(Decimal("0.1"), None), (0.05, None), (Decimal("0.01"), True), (0.001, True)],
)
def test_undetectable_on_an_insensitive_assay_is_not_evaluable(sensitivity, expected):
    assert mrd(mrd_flow_percent=0, mrd_assay_sensitivity_percent=sensitivity) is expected


def test_detectable_mrd_is_positive_whatever_the_assay_sensitivity():
    result = mrd(mrd_flow_percent=Decimal("0.5"), mrd_assay_sensitivity_percent=Decimal("0.1"))
    assert result is False
