"""``validate`` and ``update`` read a centre's file as every command does: encoding, sheet,
mapping (REDCap exports too), through the shared reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ssc_response.features.io import ReadOptions
from ssc_response.features.mapping import load_mapping
from ssc_response.training.config import load_experiment
from ssc_response.training.external_validation import read_validation_cohort
from tests.centre_files import centre_workbook, original_records, write_mapping


def test_a_centre_workbook_through_its_mapping_gives_the_original_cohort(tmp_path: Path) -> None:
    config = load_experiment("quick")
    records = original_records()
    # one responder (mRSS 24 -> 9) and one not (24 -> 24), so the outcome has both classes
    records[0]["mrss_total_followup"] = int(str(records[0]["mrss_total"])) - 15
    records[1]["mrss_total_followup"] = records[1]["mrss_total"]
    original = tmp_path / "original.csv"
    pd.DataFrame(records).to_csv(original, index=False)
    options = ReadOptions(mapping=load_mapping(write_mapping(tmp_path)))
    workbook = centre_workbook(tmp_path / "centre.xlsx", records)

    mapped, mapped_records = read_validation_cohort(workbook, config, options)
    plain, plain_records = read_validation_cohort(original, config)

    pd.testing.assert_frame_equal(mapped_records, plain_records, check_exact=False, atol=1e-9)
    np.testing.assert_array_equal(mapped.y, plain.y)
    assert len(mapped.y) == 2 and set(mapped.y) == {0, 1}
