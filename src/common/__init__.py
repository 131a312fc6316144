"""Code shared by the taxi experiments: data generation, loading, validation, metrics, tracking and steps."""
