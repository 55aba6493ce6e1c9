"""FastAPI lives here and nowhere else."""
