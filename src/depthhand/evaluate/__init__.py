"""The field's standard metrics and prediction-file readers."""
