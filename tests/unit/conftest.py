"""Make ``ansible_collections.fuel.lifecycle`` importable from the checkout for unit tests."""

from __future__ import annotations

import os
import sys

COLLECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "build", "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
