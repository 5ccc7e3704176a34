"""``ljun review``: the operators' web page for sheets the machine is unsure of.

Modules (the web framework is imported only by :mod:`ljun.review.app`):

- :mod:`~ljun.review._capture`: the review image of a page, kept at scoring time (pure);
- :mod:`~ljun.review._images`: storing and checking those images;
- :mod:`~ljun.review._db`: the store connection and transactions the web page uses;
- :mod:`~ljun.review.auth`: accounts (argon2 password hashes), sessions, lock-out;
- :mod:`~ljun.review.audit`: the append-only, hash-chained audit trail;
- :mod:`~ljun.review.queue`: which sheets need a person, most urgent first;
- :mod:`~ljun.review.decisions`: what a sheet asks of a person, and applying the answers
  (the sheet is rescored with the same scoring code);
- :mod:`~ljun.review.truth`: what reviewed batches say the right readings are
  (``ljun calibrate --from-review``);
- :mod:`~ljun.review.catalogue`: every label in Bahasa Indonesia and English;
- :mod:`~ljun.review.app`: the Flask application.
"""

from __future__ import annotations

__all__: list[str] = []
