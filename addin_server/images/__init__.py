"""The images API: OpenAI-compatible generation, jobs with progress and cancel, and the per-user image store."""
