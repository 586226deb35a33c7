"""Training and evaluation of the embedded default model (engine/embedded/), on scenes drawn by `renderer`.

Run `python -m training.train --help` to train and `python -m training.evaluate --help` to
score a model; engine/embedded/README.md (the model card) says what was run for the shipped weights.
"""
