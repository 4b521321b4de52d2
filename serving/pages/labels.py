"""The clinical words the pages show for fields and values (:mod:`features.clinical_labels`)."""

from __future__ import annotations

from ssc_response.features.clinical_labels import is_flag, label, unit, value_label, value_words

__all__ = ["is_flag", "label", "unit", "value_label", "value_words"]
