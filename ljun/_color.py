"""Colour scans: the gray image in which pencil stands out and the print fades.

A 2B pencil mark is gray: it darkens red, green and blue alike.  The bubbles
and letters of many provincial designs are printed in one light colour
(``Template.print_color``), often a *dropout* colour meant to vanish under
the scanner's lamp.  In the channel where that ink reflects most light the
print is faintest while the pencil is as dark as in any channel, so reading
that channel keeps every mark and loses most of the printed rings; a red-lamp
dropout scan is the same image made by the scanner.

Pure functions on arrays; the loaders call :func:`to_pencil_gray` through
``ljun.load.to_gray(..., weights=...)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LUMA_WEIGHTS", "pencil_channel_weights", "loading_weights", "to_pencil_gray"]

#: ITU-R BT.601 luma, what a gray scanner and OpenCV's RGB2GRAY compute.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)
# A print colour whose lightest channel reflects less than this (0-255) is
# dark in every channel (navy, black): no channel drops it, so luma it is.
DROPOUT_CHANNEL_MIN = 128


def pencil_channel_weights(print_color: tuple[int, int, int] | None) -> tuple[float, float, float]:
    """Weights of R, G, B for the gray image a sheet printed in ``print_color`` is read in.

    Pencil is neutral gray, so every channel shows it equally dark; the print
    is faintest in the channel where it reflects most.  That channel alone is
    the best choice: any mix of channels lets more of the print through.

    Parameters
    ----------
    print_color : (r, g, b) of int 0-255, or None
        The colour of the printed bubbles and letters; None (black or gray
        print) gives luma.

    Returns
    -------
    (3,) tuple of float
        Non-negative, summing to 1.

    >>> pencil_channel_weights((208, 49, 45))      # red print: read the red channel
    (1.0, 0.0, 0.0)
    >>> pencil_channel_weights((0, 174, 239))      # cyan print: the blue channel
    (0.0, 0.0, 1.0)
    >>> pencil_channel_weights(None)
    (0.299, 0.587, 0.114)
    """
    if print_color is None or max(print_color) < DROPOUT_CHANNEL_MIN:
        return LUMA_WEIGHTS
    channel = int(np.argmax(print_color))
    weights = [0.0, 0.0, 0.0]
    weights[channel] = 1.0
    return (weights[0], weights[1], weights[2])


def loading_weights(
    print_color: tuple[int, int, int] | None,
) -> tuple[float, float, float] | None:
    """The ``weights`` to load a template's scans with (``ljun.load``):
    None for a template printed in black (the loader's own luma), else
    :func:`pencil_channel_weights`.  ``ljun score`` and ``ljun calibrate``
    load pages this one way, so a calibration fits what scoring reads."""
    return None if print_color is None else pencil_channel_weights(print_color)


def to_pencil_gray(rgb: np.ndarray, weights: tuple[float, float, float]) -> np.ndarray:
    """A colour scan as gray in the given channel weights.

    Parameters
    ----------
    rgb : (H, W, 3) ndarray of uint8
    weights : (3,) tuple of float
        From :func:`pencil_channel_weights`.

    Returns
    -------
    (H, W) ndarray of uint8

    >>> to_pencil_gray(np.array([[[200, 10, 30]]], np.uint8), (1.0, 0.0, 0.0)).tolist()
    [[200]]
    """
    nonzero = [c for c, w in enumerate(weights) if w]
    if len(nonzero) == 1 and weights[nonzero[0]] == 1.0:
        return np.ascontiguousarray(rgb[:, :, nonzero[0]])
    mixed = rgb[:, :, :3].astype(np.float32) @ np.asarray(weights, dtype=np.float32)
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
