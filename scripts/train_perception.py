#!/usr/bin/env python
"""Train irpilot's degradation perception CNN (see ``irpilot.perceive.train`` and
``docs/perception.md`` for the exact commands of the shipped weights).

Example (about 50 minutes on 2 shared CPU cores, one thread: 9 to build the crops, 40 to train)::

    python scripts/train_perception.py --out runs/perception --n-images 6000 --n-val-images 600 \\
        --epochs 16 --max-minutes 40 --threads 1
    cp runs/perception/perceive_cnn.pt src/irpilot/assets/perceive_cnn.pt
"""

import sys

from irpilot.perceive.train import main

if __name__ == "__main__":
    sys.exit(main())
