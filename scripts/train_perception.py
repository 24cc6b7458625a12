#!/usr/bin/env python
"""Train irpilot's degradation perception CNN (see ``irpilot.perceive.train``).

Example (about 30-40 minutes on 2 CPU cores, one thread)::

    python scripts/train_perception.py --out runs/perception --n-images 5000 --epochs 12
    cp runs/perception/perceive_cnn.pt src/irpilot/assets/perceive_cnn.pt
"""

import sys

from irpilot.perceive.train import main

if __name__ == "__main__":
    sys.exit(main())
