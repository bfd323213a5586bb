"""Make ``ansible_collections.fuel.lifecycle`` and the lab tool importable from the checkout."""

from __future__ import annotations

import os
import sys

CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for path in (os.path.join(CHECKOUT, "build", "collections"), CHECKOUT, os.path.dirname(os.path.abspath(__file__))):
    if path not in sys.path:
        sys.path.insert(0, path)
