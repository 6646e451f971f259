"""Pick the torch device the book's experiments run on.

A CUDA device is used when one is present, never required: every chapter and exercise runs on
the CPU in about a minute.
"""

from __future__ import annotations

import torch

__all__ = ["default_device"]


def default_device() -> torch.device:
    """Return ``cuda`` when a CUDA device is available, else ``cpu``.

    Returns:
        torch.device: the device models and batches should be moved to.
    """
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
