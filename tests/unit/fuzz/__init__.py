"""Property-based fuzzing of the inputs a run reads first: params.yaml and the data table."""
