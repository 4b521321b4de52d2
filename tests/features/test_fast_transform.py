"""The compiled preprocessor computes what the fitted sklearn pipeline computes (to 1e-12).

Property tests: scoring batches drawn from simulated cohorts, then damaged at random (values
blanked, optional columns absent, category levels training never saw), go through both paths.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.pipeline import Pipeline

from features import schema
from features.fast_transform import compile_preprocessor
from features.inputs import FEW_ROWS
from features.pipeline import FEATURE_SETS, as_model_frame, build_preprocessor
from features.validation import validate_frame
from training.simulation import simulate_cohort

TOLERANCE = 1e-12
TRAINING_SEED, SCORING_POOL_SEED = 7, 21
CATEGORIES = [n for n in schema.baseline_fields() if schema.fields()[n].type == "category"]
OPTIONAL = [n for n in schema.baseline_fields() if n not in schema.REQUIRED_FIELDS]


def baseline(frame: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in frame.columns if c == "patient_id" or c in schema.baseline_fields()]
    return validate_frame(frame[keep])


@cache
def training(variant: str) -> pd.DataFrame:
    """``simulated``: a simulated cohort; ``sparse``: one cell product, some fields never seen."""
    cohort = baseline(simulate_cohort(160, TRAINING_SEED))
    if variant == "sparse":
        cohort = cohort[cohort["cell_product"] == cohort["cell_product"].iloc[0]]
        cohort = cohort.drop(columns=["biopsy_site", "crp_mg_l", "nvc_pattern", "lvef_pct"])
    return as_model_frame(cohort.reset_index(drop=True))


@cache
def fitted(variant: str, feature_set: str, scale: bool) -> Pipeline:
    return build_preprocessor(feature_set, scale=scale).fit(training(variant))


@cache
def scoring_pool() -> pd.DataFrame:
    return baseline(simulate_cohort(300, SCORING_POOL_SEED))


def damaged(seed: int, n_rows: int, blank_share: float, n_absent: int) -> pd.DataFrame:
    """Rows of the pool with cells blanked, optional columns dropped and unseen levels."""
    rng = np.random.default_rng(seed)
    frame = scoring_pool().sample(n=n_rows, random_state=seed).copy()
    for name in CATEGORIES:  # any allowed level, including those training never saw
        levels = np.asarray(schema.fields()[name].allowed, dtype=object)
        swap = rng.random(n_rows) < 0.3
        frame.loc[swap, name] = levels[rng.integers(len(levels), size=int(swap.sum()))]
    for name in OPTIONAL:
        if name in frame.columns:
            frame.loc[rng.random(n_rows) < blank_share, name] = pd.NA
    absent = rng.choice(OPTIONAL, size=n_absent, replace=False)
    return frame.drop(columns=[c for c in absent if c in frame.columns])


def sklearn_transform(preprocessor: Pipeline, records: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    with_indices = preprocessor.named_steps["indices"].transform(as_model_frame(records))
    return with_indices, preprocessor.named_steps["encode"].transform(with_indices)


batches = st.builds(
    damaged,
    seed=st.integers(0, 2**31 - 1),
    n_rows=st.sampled_from([1, 2, 7, FEW_ROWS, FEW_ROWS + 1, 240]),
    blank_share=st.sampled_from([0.0, 0.2, 0.6]),
    n_absent=st.integers(0, 12),
)
pipelines = st.tuples(
    st.sampled_from(["simulated", "sparse"]), st.sampled_from(FEATURE_SETS), st.booleans()
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipeline=pipelines, records=batches)
def test_compiled_features_equal_the_sklearn_pipeline(
    pipeline: tuple[str, str, bool], records: pd.DataFrame
) -> None:
    preprocessor = fitted(*pipeline)
    compiled = compile_preprocessor(preprocessor)

    _, expected = sklearn_transform(preprocessor, records)
    got = compiled.transform(records)

    assert list(compiled.feature_names) == list(expected.columns)
    np.testing.assert_allclose(got, expected.to_numpy(), rtol=0, atol=TOLERANCE)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipeline=pipelines, records=batches)
def test_fields_and_indices_equal_the_indices_step(
    pipeline: tuple[str, str, bool], records: pd.DataFrame
) -> None:
    preprocessor = fitted(*pipeline)
    compiled = compile_preprocessor(preprocessor)

    expected, _ = sklearn_transform(preprocessor, records)
    got = compiled.frame(compiled.inputs(records))

    pd.testing.assert_frame_equal(got, expected[list(got.columns)], rtol=0, atol=TOLERANCE)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=batches.filter(lambda frame: len(frame) > FEW_ROWS))
def test_a_record_alone_gets_the_features_it_gets_in_a_batch(records: pd.DataFrame) -> None:
    compiled = compile_preprocessor(fitted("simulated", "both", True))
    batch = compiled.transform(records)  # many rows: read one dtype group at a time
    for i in (0, len(records) // 2, len(records) - 1):  # one row: read in one object conversion
        np.testing.assert_array_equal(compiled.transform(records.iloc[[i]])[0], batch[i])


@pytest.mark.parametrize("feature_set", FEATURE_SETS)
def test_the_fields_the_model_reads_and_those_asked_for(feature_set: str) -> None:
    compiled = compile_preprocessor(fitted("simulated", feature_set, False), also_read=["lvef_pct"])
    inputs = compiled.inputs(scoring_pool().head(3))

    assert set(compiled.fields) <= set(compiled.frame_columns)
    np.testing.assert_array_equal(inputs.number("lvef_pct"), scoring_pool()["lvef_pct"].head(3))


def test_derived_indices_are_computed_for_every_feature_set() -> None:
    compiled = compile_preprocessor(fitted("simulated", "histology", False))
    frame = compiled.frame(compiled.inputs(scoring_pool().head(5)))
    assert {"mrss_total", "escsg_activity_index", "acr_eular_2013_score"} <= set(frame.columns)


def test_a_pipeline_of_another_shape_is_refused() -> None:
    preprocessor = fitted("simulated", "both", False)
    encode = preprocessor.named_steps["encode"]
    other = Pipeline([("indices", preprocessor.named_steps["indices"]), ("other", encode)])
    with pytest.raises(TypeError, match="build_preprocessor"):
        compile_preprocessor(other)


def test_infinity_is_refused_as_sklearn_refuses_it() -> None:
    compiled = compile_preprocessor(fitted("simulated", "both", False))
    records = scoring_pool().head(2).assign(crp_mg_l=[np.inf, 1.0])
    with pytest.raises(ValueError, match="infinity"):
        compiled.transform(records)
