"""The sklearn feature pipeline on validated cohorts and API-like records."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from ssc_response.features import schema
from ssc_response.features.pipeline import (
    DERIVED_MODEL_FEATURES,
    FEATURE_SETS,
    MISSING_PREFIX,
    FeatureSpec,
    as_model_frame,
    as_spec,
    build_preprocessor,
    categorical_fields,
    field_of_feature,
)
from ssc_response.features.schema import MRSS_SITE_FIELDS
from ssc_response.features.validation import validate_frame, validate_records
from ssc_response.models.serialization import TRUSTED_TYPES
from ssc_response.models.tolerance import ABSOLUTE_FLOOR, RELATIVE_TOLERANCE
from ssc_response.training.simulation import simulate_cohort
from tests.factories import SITE_SCORES, make_patient

COHORT_SIZE = 300
COHORT_SEED = 7


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    """A validated simulated cohort, as the model sees it (every baseline field)."""
    return as_model_frame(validate_frame(simulate_cohort(COHORT_SIZE, COHORT_SEED)))


@pytest.fixture(scope="module")
def fitted(cohort: pd.DataFrame) -> dict[str, Pipeline]:
    """One preprocessor per feature set, fitted on the cohort."""
    return {name: build_preprocessor(name).fit(cohort) for name in FEATURE_SETS}


def records(*patients: dict[str, object]) -> pd.DataFrame:
    """API-like records, validated and reindexed to every baseline field."""
    return as_model_frame(validate_records(list(patients)))


def model_fields(feature_set: str) -> set[str]:
    return set(as_spec(feature_set).numeric) | set(categorical_fields(feature_set))


def output_fields(preprocessor: Pipeline, feature_set: str) -> set[str]:
    names = preprocessor.get_feature_names_out()
    return {field_of_feature(name, categorical_fields(feature_set)) for name in names}


@pytest.mark.parametrize("feature_set", FEATURE_SETS)
def test_output_is_a_named_frame_of_the_input_rows(
    cohort: pd.DataFrame, feature_set: str
) -> None:
    shuffled = cohort.sample(frac=1.0, random_state=0)  # a non-default index must survive
    out = build_preprocessor(feature_set).fit(shuffled).transform(shuffled)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(
        build_preprocessor(feature_set).fit(shuffled).get_feature_names_out()
    )
    assert out.index.equals(shuffled.index)
    assert (out.dtypes == "float64").all()


@pytest.mark.parametrize("feature_set", FEATURE_SETS)
def test_every_feature_maps_back_to_a_field_of_its_set(
    fitted: dict[str, Pipeline], feature_set: str
) -> None:
    assert output_fields(fitted[feature_set], feature_set) == model_fields(feature_set)


def test_one_hot_and_indicator_features_map_to_their_field(fitted: dict[str, Pipeline]) -> None:
    names = set(fitted["both"].get_feature_names_out())
    assert "sex_M" in names
    assert field_of_feature("sex_M") == "sex"
    assert field_of_feature(f"{MISSING_PREFIX}crp_mg_l") == "crp_mg_l"
    assert field_of_feature(f"{MISSING_PREFIX}sex_M") == "sex"
    assert field_of_feature("cell_product_auto_bm_msc") == "cell_product"
    assert field_of_feature("escsg_activity_index") == "escsg_activity_index"


def test_field_of_feature_with_no_categorical_fields_keeps_the_name() -> None:
    assert field_of_feature("sex_M", categorical=[]) == "sex_M"


def test_histology_set_has_only_histology_fields(fitted: dict[str, Pipeline]) -> None:
    groups = {
        schema.fields()[name].group for name in output_fields(fitted["histology"], "histology")
    }
    assert groups == {"histology"}


def test_clinical_set_has_no_histology_and_no_derived_indices_unless_asked(
    cohort: pd.DataFrame, fitted: dict[str, Pipeline],
) -> None:
    found = output_fields(fitted["clinical"], "clinical")
    histology = {name for name, field in schema.fields().items() if field.group == "histology"}
    assert not found & histology
    assert not set(DERIVED_MODEL_FEATURES) & found  # they restate mRSS, ESR, CRP...

    asked = build_preprocessor(FeatureSpec.named("clinical", derived_indices=True)).fit(cohort)

    assert set(DERIVED_MODEL_FEATURES) <= set(asked.get_feature_names_out())


@pytest.mark.parametrize("feature_set", FEATURE_SETS)
def test_no_missing_values_in_the_output(
    cohort: pd.DataFrame, fitted: dict[str, Pipeline], feature_set: str
) -> None:
    assert cohort.isna().any().any()  # the cohort has missing values to fill
    assert not fitted[feature_set].transform(cohort).isna().any().any()


def test_no_missing_indicators_by_default(fitted: dict[str, Pipeline]) -> None:
    names = fitted["both"].get_feature_names_out()
    assert not [n for n in names if str(n).startswith(MISSING_PREFIX)]


def test_missing_indicators_are_an_opt_in_for_fields_missing_in_training(
    cohort: pd.DataFrame,
) -> None:
    spec = FeatureSpec.listed(["crp_mg_l", "esr_mm_h", "sex", "mrss_total"],
                              missing_indicators=True)
    patients = [make_patient(patient_id=f"P{i}", crp_mg_l=None if i % 2 else 5.0 + i,
                             esr_mm_h=10.0 + i) for i in range(6)]
    names = set(build_preprocessor(spec).fit(records(*patients)).get_feature_names_out())
    assert f"{MISSING_PREFIX}crp_mg_l" in names
    assert f"{MISSING_PREFIX}esr_mm_h" not in names  # complete in training


def test_a_blank_yes_no_or_category_is_imputed_as_one_of_its_levels(
    cohort: pd.DataFrame, fitted: dict[str, Pipeline],
) -> None:
    blank = make_patient(anti_topo1=None, delta_skin=None, sex="F", cell_product=None)
    out = fitted["both"].transform(records(blank))
    for column in ("anti_topo1", "delta_skin"):
        assert out.loc[0, column] in (0.0, 1.0)  # never the imputed probability
    one_hot = out.filter(regex="^cell_product_").to_numpy()
    assert sorted(one_hot[0].tolist()) == [0.0] * (one_hot.shape[1] - 1) + [1.0]


def test_a_blank_score_keeps_its_imputed_expectation_without_steps(
    fitted: dict[str, Pipeline],
) -> None:
    """A blank fibrosis grade (0-3) imputed from mRSS rises smoothly with it: rounded to a whole
    grade, it stepped by one at a half-way point and the probability jumped with it (a higher
    mRSS then lowered the probability; tests/models/test_behaviour.py). Horton, Lipsitz &
    Parzen 2003 (Am Stat 57:229) on the bias of rounding imputations."""
    biopsy = dict.fromkeys(("fibrosis_grade", "hyalinized_collagen_score",
                            "myofibroblast_score", "inflammatory_infiltrate_score"))
    sites = dict.fromkeys(MRSS_SITE_FIELDS)  # the total alone stands for the skin score
    patients = [make_patient(patient_id=f"P{i}", mrss_total=m, **biopsy, **sites)
                for i, m in enumerate(range(20, 42, 3))]
    grade = fitted["both"].transform(records(*patients))["fibrosis_grade"].to_numpy()
    assert np.all(np.diff(grade) > 0), grade
    assert not np.allclose(grade, np.round(grade)), grade


def test_a_blank_number_is_imputed_within_its_central_training_range(
    cohort: pd.DataFrame, fitted: dict[str, Pipeline],
) -> None:
    """An extreme patient (CRP at the top of its scale) with ESR blank: the chained regression
    would put ESR high; it stays within ESR's 5th-95th training percentiles (log scale)."""
    patient = make_patient(crp_mg_l=300.0, esr_mm_h=None)
    out = fitted["clinical"].transform(records(patient))
    low, high = np.nanquantile(np.log1p(cohort["esr_mm_h"].to_numpy(float)), [0.05, 0.95])
    assert low - 1e-9 <= out.loc[0, "esr_mm_h"] <= high + 1e-9


def test_a_blank_field_is_imputed_from_the_other_fields(cohort: pd.DataFrame) -> None:
    """Chained equations, not a constant: two patients differing in CRP (correlated with ESR
    through the simulator's inflammation factor) get different imputed ESR values."""
    spec = FeatureSpec.listed(["crp_mg_l", "esr_mm_h", "mrss_total", "sex"])
    preprocessor = build_preprocessor(spec).fit(cohort)
    low, high = (make_patient(patient_id=f"P{i}", crp_mg_l=c, esr_mm_h=None)
                 for i, c in enumerate((1.0, 40.0)))
    out = preprocessor.transform(records(low, high))
    assert out.loc[1, "esr_mm_h"] > out.loc[0, "esr_mm_h"] + 0.05


@pytest.mark.parametrize("feature_set", FEATURE_SETS)
def test_category_fields_absent_in_training_keep_their_features(feature_set: str) -> None:
    optional = set(categorical_fields("both")) - set(schema.REQUIRED_FIELDS)
    patients = [
        {k: v for k, v in make_patient(patient_id=f"P{i}").items() if k not in optional}
        for i in range(3)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Skipping features without any observed values"
        preprocessor = build_preprocessor(feature_set).fit(records(*patients))
    assert output_fields(preprocessor, feature_set) == model_fields(feature_set)


def test_unseen_categories_at_transform_time_are_all_zero() -> None:
    patients = [make_patient(patient_id=f"P{i}", age_years=40.0 + i) for i in range(3)]
    preprocessor = build_preprocessor("both").fit(records(*patients))
    unseen = make_patient(sex="M", cell_product="ad_svf", biopsy_site="other")
    out = preprocessor.transform(records(unseen))
    one_hot = out.filter(regex="^(sex|cell_product|biopsy_site)_")
    assert list(one_hot.columns) == ["sex_F", "cell_product_auto_bm_msc", "biopsy_site_forearm"]
    assert (one_hot == 0).all().all()


@pytest.mark.parametrize("feature_set", FEATURE_SETS)
def test_record_with_only_required_fields_and_mrss_transforms(
    fitted: dict[str, Pipeline], feature_set: str
) -> None:
    minimal = {name: make_patient()[name] for name in (*schema.REQUIRED_FIELDS, "mrss_total")}
    out = fitted[feature_set].transform(records(minimal))
    assert out.shape == (1, len(fitted[feature_set].get_feature_names_out()))
    assert not out.isna().any().any()
    if feature_set != "histology":
        assert out.loc[0, "mrss_total"] == minimal["mrss_total"]


@pytest.mark.parametrize("absent", ["none", "key"])
def test_mrss_total_is_filled_from_the_sites(fitted: dict[str, Pipeline], absent: str) -> None:
    patient = make_patient(mrss_total=None)
    if absent == "key":
        del patient["mrss_total"]
    out = fitted["clinical"].transform(records(patient))
    assert out.loc[0, "mrss_total"] == sum(SITE_SCORES.values())


def test_transform_is_deterministic_and_leaves_the_input_alone(
    cohort: pd.DataFrame, fitted: dict[str, Pipeline]
) -> None:
    before = cohort.copy()
    first = fitted["both"].transform(cohort)
    build_preprocessor("both").fit(cohort)
    pd.testing.assert_frame_equal(fitted["both"].transform(cohort), first)
    pd.testing.assert_frame_equal(cohort, before)


def test_fitted_preprocessor_round_trips_through_skops(
    cohort: pd.DataFrame, tmp_path: Path
) -> None:
    preprocessor = build_preprocessor("both").fit(cohort)
    path = tmp_path / "preprocessor.skops"
    sio.dump(preprocessor, path)
    assert set(sio.get_untrusted_types(file=path)) <= set(TRUSTED_TYPES)
    loaded = sio.load(path, trusted=list(TRUSTED_TYPES))
    pd.testing.assert_frame_equal(loaded.transform(cohort), preprocessor.transform(cohort))


def test_a_record_transforms_alone_as_in_a_batch(fitted: dict[str, Pipeline]) -> None:
    """The transform layer's "alone equals in a batch", within the stated tolerance."""
    batch = records(*[make_patient(patient_id=f"P{i}", crp_mg_l=None if i % 2 else 2.0 + i,
                                   age_years=30.0 + 7 * i) for i in range(5)])

    together = fitted["both"].transform(batch)

    for i in range(len(batch)):
        alone = fitted["both"].transform(batch.iloc[[i]].reset_index(drop=True))
        np.testing.assert_allclose(alone.to_numpy(), together.iloc[[i]].to_numpy(),
                                   rtol=RELATIVE_TOLERANCE, atol=ABSOLUTE_FLOOR)


def test_stochastic_draws_are_reproducible_on_levels_and_leave_recorded_values(
    cohort: pd.DataFrame,
) -> None:
    spec = FeatureSpec.listed(["crp_mg_l", "esr_mm_h", "anti_topo1", "sex", "mrss_total"])
    preprocessor = build_preprocessor(spec).fit(cohort)
    encode = preprocessor.named_steps["encode"]
    draws = clone(encode.named_steps["impute"]).set_params(sample_posterior=True,
                                                            quantiles=(0.0, 1.0))
    columns = encode.named_steps["columns"].transform(preprocessor.named_steps["indices"]
                                                      .transform(cohort))
    draws.fit(columns)
    patient = records(make_patient(esr_mm_h=None, anti_topo1=None, crp_mg_l=12.0))
    blank = encode.named_steps["columns"].transform(
        preprocessor.named_steps["indices"].transform(patient))

    first, again = draws.draws(blank, 20, seed=1), draws.draws(blank, 20, seed=1)

    np.testing.assert_array_equal(first, again)
    names = list(blank.columns)
    esr = first[:, 0, names.index("esr_mm_h")]
    assert np.unique(esr).size > 1  # drawn, not the same value every time
    assert set(np.unique(first[:, 0, names.index("anti_topo1")])) <= {0.0, 1.0}
    assert np.all(first[:, 0, names.index("crp_mg_l")] == blank.loc[0, "crp_mg_l"])
