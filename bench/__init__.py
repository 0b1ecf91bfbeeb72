"""scopewatch benchmarks: `python -m bench [--only NAME] [--smoke]` (what `make bench` runs).

Every figure is reported as a ratio to a reference measured in the same run on the same machine,
because these machines are shared and noisy: an absolute number from one run says little about
the next, while "0.9x of what the bare stack does here" travels.
"""
