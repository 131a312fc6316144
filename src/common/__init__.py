"""Code shared by experiments: importable as `import common` locally and in Azure ML."""
